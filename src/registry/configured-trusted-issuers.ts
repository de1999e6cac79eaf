import type { TrustedIssuerConfig } from "../config/types.js";
import { localKeySet } from "../keys/local-key-set.js";
import type { RemoteKeySet } from "../keys/remote-key-set.js";
import { StaticTrustedIssuers, type TrustedIssuer } from "./trusted-issuers.js";

/**
 * Trusted issuers from the configuration. Inline key sets are used as they
 * are; a jwksUri is served by the RemoteKeySet the caller builds for it (the
 * registry itself does no I/O).
 */
export function configuredTrustedIssuers(configs: readonly TrustedIssuerConfig[], remoteKeySet: (jwksUri: string) => RemoteKeySet): StaticTrustedIssuers {
  return new StaticTrustedIssuers(
    configs.map((config): TrustedIssuer => {
      const subjects = new Map(config.subjects.map((s) => [s.subject, s.clientId]));
      let resolveKey: TrustedIssuer["resolveKey"];
      if (config.jwks !== undefined) {
        resolveKey = localKeySet(config.jwks);
      } else {
        const remote = remoteKeySet(config.jwksUri!);
        resolveKey = (header) => remote.resolve(header);
      }
      return Object.freeze({
        issuer: config.issuer,
        algorithms: Object.freeze([...config.algorithms]),
        replay: config.replay,
        maxLifetimeSeconds: config.maxLifetimeSeconds,
        resolveKey,
        clientFor: (subject: string) => subjects.get(subject),
      });
    }),
  );
}
