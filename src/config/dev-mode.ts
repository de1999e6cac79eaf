import { sha256 } from "../internal/constant-time.js";
import { randomToken } from "../internal/random.js";
import { validateConfig } from "./validate.js";
import { secretResolver } from "./load.js";
import type { TesseraConfig } from "./types.js";

export const DEMO_CLIENT_ID = "demo";
export const DEMO_AUDIENCE = "https://demo.example";
export const DEMO_SCOPES = ["demo.read", "demo.write"];

/** The stored form of a client secret: `sha256:<base64url digest>`. */
export function hashClientSecret(secret: string): string {
  return `sha256:${sha256(secret).toString("base64url")}`;
}

/** A new server-generated client secret: 256 bits of entropy. */
export function generateClientSecret(): string {
  return randomToken(32);
}

/**
 * Dev mode: no configuration file. One demo client (client_secret_basic) that
 * may get tokens for the audience https://demo.example and, as that resource
 * server, introspect them. The secret is
 * generated now and exists only in this process.
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
    env,
    secretResolver(env),
    { devMode: true },
  );
  return { config, demoSecret };
}
