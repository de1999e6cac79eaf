// Optional TLS on both listeners: HTTPS with ALPN (HTTP/2 and HTTP/1.1 on one
// port, cleartext refused) and gRPC over TLS, with a certificate made here.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { credentials } from "@grpc/grpc-js";
import { TokenService } from "../../gen/tessera/v1/token_service_pb.js";
import type { TesseraServer } from "../../src/server/tessera-server.js";
import { startCapturedServer } from "../helpers/start-server.js";
import { basicAuthorization, fixtureConfig, SECRETS } from "../helpers/fixtures.js";
import { grpcJsClient } from "../helpers/grpc-client.js";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "tessera-tls-"));
const certFile = join(dir, "cert.pem");
const keyFile = join(dir, "key.pem");
let server: TesseraServer;

before(async () => {
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
    "-keyout",
    keyFile,
    "-out",
    certFile,
  ]);
  const { config } = await fixtureConfig({ issuerFromListener: true });
  config.http.tls = { certFile, keyFile };
  config.grpc.tls = { certFile, keyFile };
  server = await startCapturedServer({ config });
});
after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function curl(args: string[]): Promise<string> {
  const { stdout } = await run("curl", ["-sS", "--cacert", certFile, ...args], { timeout: 10_000 });
  return stdout;
}

describe("TLS", () => {
  test("the issuer and listener are https", () => {
    assert.match(server.httpUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(server.issuer, server.httpUrl);
  });

  for (const version of ["--http1.1", "--http2"]) {
    test(`OAuth token endpoint over HTTPS (${version.slice(2)}), negotiated by ALPN`, async () => {
      const out = await curl([
        version,
        "-w",
        "\\n%{http_version}",
        "-H",
        `authorization: ${basicAuthorization("billing", SECRETS.basic)}`,
        "-d",
        "grant_type=client_credentials&resource=https://calendar.example.com",
        `${server.httpUrl}/oauth2/token`,
      ]);
      const [body, httpVersion] = out.split("\n");
      assert.equal((JSON.parse(body!) as { token_type: string }).token_type, "Bearer");
      assert.equal(httpVersion, version === "--http2" ? "2" : "1.1");
    });
  }

  test("cleartext HTTP on the TLS port is refused", async () => {
    await assert.rejects(run("curl", ["-sS", "--max-time", "5", `${server.httpUrl.replace("https:", "http:")}/healthz`]));
  });

  test("gRPC over TLS", async () => {
    const client = grpcJsClient(TokenService, server.grpcAddress, credentials.createSsl(readFileSync(certFile)));
    try {
      const response = await client.unary("getJwks", {});
      assert.deepEqual(
        response.keys.map((k) => k.kid).sort(),
        server.context.keys
          .publicJwks()
          .map((k) => k.kid)
          .sort(),
      );
      assert.ok(response.keys.some((k) => k.kid === server.context.keys.signingKey().kid));
    } finally {
      client.close();
    }
  });
});
