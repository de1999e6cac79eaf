import type { TesseraConfig } from "../../src/config/types.js";
import { createTesseraServer, type TesseraServer, type TesseraServerOptions } from "../../src/server/tessera-server.js";
import { fixtureConfig, type ClientKeyPair } from "./fixtures.js";
import { capturedLogger, recordSecrets, withCapturedAudit } from "./log-capture.js";

/**
 * createTesseraServer for tests: under `npm test` its log and audit lines go into the secret scan's
 * capture (test/helpers/log-capture.ts), unless the test chose a logger or an audit file of its own.
 */
export function startCapturedServer(options: TesseraServerOptions): Promise<TesseraServer> {
  const key = options.kek?.key;
  if (key !== undefined) recordSecrets(...(["base64", "base64url", "hex"] as const).map((encoding) => Buffer.from(key).toString(encoding)));
  return createTesseraServer({ ...options, config: withCapturedAudit(options.config), logger: options.logger ?? capturedLogger() });
}

/** A TesseraServer over the fixture configuration, both listeners on 127.0.0.1 port 0. Stop it in after(). */
export async function startFixtureServer(): Promise<{ server: TesseraServer; config: TesseraConfig; keyPair: ClientKeyPair }> {
  const { config, keyPair } = await fixtureConfig();
  if (config.http.host !== "127.0.0.1" || config.grpc.host !== "127.0.0.1" || config.http.port !== 0 || config.grpc.port !== 0) {
    throw new Error("the fixture configuration must listen on 127.0.0.1 port 0");
  }
  const server = await startCapturedServer({ config });
  return { server, config, keyPair };
}
