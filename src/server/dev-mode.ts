import { generateClientSecret, hashClientSecret } from "../registry/client-secret.js";
import { validateConfig } from "../config/validate.js";
import { secretResolver } from "../config/load.js";
import type { TesseraConfig } from "../config/types.js";

export const DEMO_CLIENT_ID = "demo";
export const DEMO_AUDIENCE = "https://demo.example";
export const DEMO_SCOPES = ["demo.read", "demo.write"];

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
    env,
    secretResolver(env),
    { devMode: true },
  );
  return { config, demoSecret };
}
