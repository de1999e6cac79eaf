import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from "jose";
import { hashClientSecret } from "../../src/registry/client-secret.js";
import { validateConfig } from "../../src/config/validate.js";
import type { TesseraConfig } from "../../src/config/types.js";
import type { Clock } from "../../src/internal/clock.js";
import type { IssuerContext } from "../../src/issuer/issuer-context.js";
import { MemoryKeyStore } from "../../src/keys/key-store.js";
import { generateSigningKey } from "../../src/keys/signing-key.js";
import { StaticClientRegistry } from "../../src/registry/client-registry.js";
import { StaticTrustedIssuers } from "../../src/registry/trusted-issuers.js";
import { MemoryDenyList } from "../../src/store/memory/deny-list.js";
import { MemoryReplayGuard } from "../../src/store/memory/replay-guard.js";
import { capturing, recordSecrets } from "./log-capture.js";

export const ISSUER = "http://127.0.0.1:8080";

/** Secrets of the fixture clients (each ≥ 256 bits, like server-generated ones). */
export const SECRETS = {
  basic: "basic-secret-0123456789abcdef0123456789abcdef",
  basicRotated: "basic-secret-NEXT-0123456789abcdef0123456789ab",
  post: "post-secret-0123456789abcdef0123456789abcdef01",
  jwt: "jwt-hmac-secret-0123456789abcdef0123456789abcdef",
  other: "other-secret-0123456789abcdef0123456789abcdef0",
  // A client id with characters that Basic must form-url-encode.
  odd: "odd secret:with%chars+0123456789abcdef01234567",
};

/** The key pair of the private_key_jwt fixture client. */
export interface ClientKeyPair {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function clientKeyPair(alg: "ES256" | "RS256" | "EdDSA" = "ES256"): Promise<ClientKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), alg, kid: `client-key-${alg}` };
  return { privateKey, publicJwk };
}

/**
 * A configuration with one client per authentication method:
 * - billing (client_secret_basic, two secrets): calendar + files grants
 * - reporter (client_secret_post): one grant, default audience
 * - signer (client_secret_jwt): one grant
 * - keyed (private_key_jwt): one grant
 * - calendar (client_secret_basic): resource server that may introspect; audience https://calendar.example.com
 * - norights: introspection not allowed
 */
export async function fixtureConfig(
  options: { keyPair?: ClientKeyPair; issuer?: string; issuerFromListener?: boolean } = {},
): Promise<{ config: TesseraConfig; keyPair: ClientKeyPair }> {
  const keyPair = options.keyPair ?? (await clientKeyPair());
  if (capturing) recordSecrets(...Object.values(SECRETS), (await exportJWK(keyPair.privateKey)).d);
  const env = { TESSERA_JWT_SECRET: SECRETS.jwt };
  const config = validateConfig(
    {
      ...(options.issuerFromListener ? {} : { issuer: options.issuer ?? ISSUER }),
      http: { port: 0 },
      grpc: { port: 0 },
      // These suites fail authentication on purpose, many times over: throttling has its own tests (test/contract, redis-faults).
      rateLimit: { failures: 100_000 },
      // Quiet and portless by default: test/integration/observability.test.ts turns them on.
      metrics: { enabled: false },
      audit: { enabled: false },
      clients: [
        {
          id: "billing",
          authMethod: "client_secret_basic",
          secretHashes: [hashClientSecret(SECRETS.basic), hashClientSecret(SECRETS.basicRotated)],
          grants: [
            { audience: "https://calendar.example.com", scopes: ["event.view", "event.create"] },
            { audience: "https://files.example.com", scopes: ["file.view"] },
          ],
        },
        {
          id: "reporter",
          authMethod: "client_secret_post",
          secretHashes: [hashClientSecret(SECRETS.post)],
          grants: [{ audience: "https://calendar.example.com", scopes: ["event.view"] }],
          tokenLifetimeSeconds: 120,
        },
        {
          id: "signer",
          authMethod: "client_secret_jwt",
          jwtSecret: "env:TESSERA_JWT_SECRET",
          grants: [{ audience: "https://calendar.example.com", scopes: ["event.view"] }],
        },
        {
          id: "keyed",
          authMethod: "private_key_jwt",
          jwks: { keys: [keyPair.publicJwk] },
          grants: [{ audience: "calendar", scopes: ["event.view", "event.delete"] }],
        },
        {
          id: "calendar",
          authMethod: "client_secret_basic",
          secretHashes: [hashClientSecret(SECRETS.other)],
          audiences: ["https://calendar.example.com"],
          introspection: true,
          grants: [{ audience: "https://files.example.com", scopes: ["file.view"] }],
        },
        {
          id: "odd:client%id",
          authMethod: "client_secret_basic",
          secretHashes: [hashClientSecret(SECRETS.odd)],
          grants: [{ audience: "https://files.example.com", scopes: ["file.view"] }],
        },
        {
          id: "norights",
          authMethod: "client_secret_post",
          secretHashes: [hashClientSecret(SECRETS.other)],
          grantTypes: [],
          grants: [{ audience: "https://calendar.example.com", scopes: ["event.view"] }],
        },
      ],
    },
    {},
    (ref) => {
      const value = env[ref.slice(4) as keyof typeof env];
      if (!value) throw new Error(`no ${ref}`);
      return value;
    },
  );
  return { config, keyPair };
}

/** An issuer context over the fixture configuration, a fresh ES256 key and memory stores. */
export async function fixtureContext(
  clock: Clock,
  options: { keyPair?: ClientKeyPair } = {},
): Promise<{ ctx: IssuerContext; config: TesseraConfig; keyPair: ClientKeyPair }> {
  const { config, keyPair } = await fixtureConfig(options);
  const ctx: IssuerContext = {
    issuer: config.issuer,
    tokens: config.tokens,
    clients: new StaticClientRegistry(config.clients),
    trustedIssuers: new StaticTrustedIssuers([]),
    keys: MemoryKeyStore.single(await generateSigningKey("ES256")),
    replay: new MemoryReplayGuard(clock),
    denyList: new MemoryDenyList(clock),
    clock,
  };
  return { ctx, config, keyPair };
}

/** `Authorization: Basic` for a client, form-url-encoded first as RFC 6749 §2.3.1 requires. */
export function basicAuthorization(clientId: string, secret: string): string {
  const enc = (v: string) => encodeURIComponent(v).replace(/%20/g, "+");
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString("base64")}`;
}
