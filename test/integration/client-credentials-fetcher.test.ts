// clientCredentialsFetcher's transport rules against real loopback listeners:
// no client secret over cleartext to a host that is not loopback, and failures
// that name the endpoint and keep their cause without leaking credentials.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { TemporarilyUnavailableError } from "../../src/errors/tessera-error.js";
import { clientCredentialsFetcher } from "../../src/token-source/client-credentials-fetcher.js";

const SECRET = "tasks-secret-0123456789abcdef0123456789abcdef";
const auth = { method: "client_secret_post", secret: SECRET } as const;

/** A loopback "token endpoint" that answers 502 with an HTML page, as a proxy in front of a dead service does. */
let badGateway: Server;
let badGatewayUrl = "";

before(async () => {
  badGateway = createServer((_req, res) => void res.writeHead(502, { "content-type": "text/html" }).end("<h1>Bad Gateway</h1>"));
  await new Promise<void>((resolve) => badGateway.listen(0, "127.0.0.1", resolve));
  badGatewayUrl = `http://127.0.0.1:${(badGateway.address() as AddressInfo).port}/oauth2/token`;
});
after(() => new Promise((resolve) => badGateway.close(resolve)));

async function failure(promise: Promise<unknown>): Promise<TemporarilyUnavailableError> {
  const err = await promise.then(
    () => assert.fail("resolved"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof TemporarilyUnavailableError, String(err));
  assert.doesNotMatch(err.message, new RegExp(SECRET));
  return err;
}

describe("clientCredentialsFetcher transport security", () => {
  test("a cleartext token endpoint that is not loopback is refused before any secret is sent, unless allowInsecure", () => {
    for (const tokenEndpoint of ["http://tessera.internal/oauth2/token", "http://10.1.2.3:8080/oauth2/token", "http://[2001:db8::1]/oauth2/token"]) {
      assert.throws(
        () => clientCredentialsFetcher({ tokenEndpoint, clientId: "tasks", auth }),
        /refusing client credentials over cleartext HTTP.*allowInsecure/,
        tokenEndpoint,
      );
    }
    assert.throws(() => clientCredentialsFetcher({ tokenEndpoint: "ftp://tessera.internal/token", clientId: "tasks", auth }), /must be https/);
    assert.throws(
      () => clientCredentialsFetcher({ tokenEndpoint: "https://tasks:pw@tessera.internal/oauth2/token", clientId: "tasks", auth }),
      (e: Error) => /must not hold credentials/.test(e.message) && !/pw@/.test(e.message),
    );
    assert.ok(clientCredentialsFetcher({ tokenEndpoint: "https://tessera.internal/oauth2/token", clientId: "tasks", auth }));
    assert.ok(clientCredentialsFetcher({ tokenEndpoint: "http://localhost:8080/oauth2/token", clientId: "tasks", auth }));
    assert.ok(clientCredentialsFetcher({ tokenEndpoint: "http://tessera.internal/oauth2/token", clientId: "tasks", auth, allowInsecure: true }));
  });

  test("an unreachable endpoint: UNAVAILABLE naming the endpoint and the network error, the original error as cause", async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, "127.0.0.1", () => {
        const { port: p } = probe.address() as AddressInfo;
        probe.close(() => resolve(p));
      });
    });
    const fetcher = clientCredentialsFetcher({ tokenEndpoint: `http://127.0.0.1:${port}/oauth2/token?tenant=a`, clientId: "tasks", auth });
    const err = await failure(fetcher({ audience: "https://calendar.example.com", scopes: [] }));
    assert.equal(err.message, `the token service at http://127.0.0.1:${port}/oauth2/token cannot be reached: ECONNREFUSED`);
    assert.ok(err.cause instanceof Error, "the cause is kept");
  });

  test("an answer that is not JSON names the endpoint and the status", async () => {
    const fetcher = clientCredentialsFetcher({ tokenEndpoint: badGatewayUrl, clientId: "tasks", auth });
    const err = await failure(fetcher({ audience: "https://calendar.example.com", scopes: [] }));
    assert.equal(err.message, `the token service at ${badGatewayUrl} answered HTTP 502 without JSON`);
  });
});
