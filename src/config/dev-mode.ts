import { sha256 } from "../internal/constant-time.js";
import { randomToken } from "../internal/random.js";
import { validateConfig, type EnvOverrides } from "./validate.js";
import { secretResolver } from "./load.js";
import type { TesseraConfig } from "./types.js";

export const DEMO_CLIENT_ID = "demo";
export const DEMO_AUDIENCE = "https://demo.example";
export const DEMO_SCOPES = ["demo.read", "demo.write"];

/**
 * The stored form of a client secret: `sha256:<base64url digest>`.
 *
 * @example
 * ```ts
 * import { generateClientSecret, hashClientSecret } from "tessera/server";
 *
 * const secret = generateClientSecret(); // give this to the client
 * const entry = hashClientSecret(secret); // put this in clients[].secretHashes: "sha256:…"
 * ```
 */
export function hashClientSecret(secret: string): string {
  return `sha256:${sha256(secret).toString("base64url")}`;
}

/**
 * A new server-generated client secret: 256 bits of entropy.
 *
 * @example
 * ```ts
 * import { generateClientSecret } from "tessera/server";
 *
 * const secret = generateClientSecret(); // 43 base64url characters
 * ```
 */
export function generateClientSecret(): string {
  return randomToken(32);
}

/**
 * Dev mode: no configuration file. One demo client (client_secret_basic) that
 * may get tokens for the audience https://demo.example and, as that resource
 * server, introspect them. The secret is
 * generated now and exists only in this process.
 *
 * @example
 * ```ts
 * import { createTesseraServer, devModeConfig } from "tessera/server";
 *
 * const { config, demoSecret } = devModeConfig();
 * const server = await createTesseraServer({ config });
 * console.log(`client_id=demo client_secret=${demoSecret} token endpoint ${server.httpUrl}/oauth2/token`);
 * ```
 */
export function devModeConfig(env: NodeJS.ProcessEnv = process.env): { config: TesseraConfig; demoSecret: string } {
  const demoSecret = generateClientSecret();
  const config = validateConfig(
    {
      clients: [
        {
          id: DEMO_CLIENT_ID,
          authMethod: "client_secret_basic",
          secretHashes: [hashClientSecret(demoSecret)],
          grants: [{ audience: DEMO_AUDIENCE, scopes: DEMO_SCOPES }],
          audiences: [DEMO_AUDIENCE],
          introspection: true,
        },
      ],
    },
    env as EnvOverrides,
    secretResolver(env),
  );
  return { config: { ...config, devMode: true }, demoSecret };
}
