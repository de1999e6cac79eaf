import type { TesseraConfig } from "../../src/config/types.js";
import { createTesseraServer, type TesseraServer } from "../../src/server/tessera-server.js";
import { fixtureConfig, type ClientKeyPair } from "./fixtures.js";

/** A TesseraServer over the fixture configuration, both listeners on 127.0.0.1 port 0. Stop it in after(). */
export async function startFixtureServer(): Promise<{ server: TesseraServer; config: TesseraConfig; keyPair: ClientKeyPair }> {
  const { config, keyPair } = await fixtureConfig();
  if (config.http.host !== "127.0.0.1" || config.grpc.host !== "127.0.0.1" || config.http.port !== 0 || config.grpc.port !== 0) {
    throw new Error("the fixture configuration must listen on 127.0.0.1 port 0");
  }
  const server = await createTesseraServer({ config });
  return { server, config, keyPair };
}
