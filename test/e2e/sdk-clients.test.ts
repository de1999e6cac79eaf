// The Go and Python SDKs' client side against real servers of every runtime:
// least-privilege tokens from the called method's rule, one token per
// (audience, scopes) however many calls run at once, and one retry with a
// fresh token after invalid_token (a token revoked after use, on each server).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CALLER, ConformanceWorld, KEYED_CALLER, type Runtime } from "../helpers/conformance-runners.js";
import { until } from "../helpers/wait.js";

const world = new ConformanceWorld();
const runtimes: Runtime[] = [];

before(
  async () => {
    await world.start();
    runtimes.push(...(await world.startRuntimes()));
  },
  { timeout: 300_000 },
);

after(async () => {
  for (const runtime of runtimes) await runtime.stop();
  await world.stop();
});

/** Scopes each method's rule makes a client ask for: all-of plus the first any-of alternative. */
const LEAST_PRIVILEGE: Record<string, string[]> = {
  AllOf: ["conf.read", "conf.write"],
  AnyOf: ["conf.a", "conf.base"],
  OnlyAnyOf: ["conf.x"],
  ServiceDefault: ["conf.default"],
  OtherAudience: ["conf.read"],
  Watch: ["conf.read"],
};

for (const language of ["go", "python"] as const) {
  describe(`${language} SDK client`, () => {
    for (const server of ["node (grpc-js)", "node (connect)", "go (grpc-go)", "python (grpcio)"]) {
      test(`→ ${server}: each method gets a token with exactly its rule's scopes, one fetch per (audience, scopes)`, async () => {
        const runtime = runtimes.find((r) => r.name === server) as Runtime;
        const client = world.client(language, runtime.address);
        let fetches = 0;
        for (const [method, scopes] of Object.entries(LEAST_PRIVILEGE)) {
          const result = await client.run(method);
          assert.equal(result.code, "OK", `${method}: ${JSON.stringify(result)}`);
          assert.equal(result.clientId, CALLER.id);
          assert.deepEqual(result.scopes, scopes, method);
          fetches++;
          assert.equal(result.fetches, fetches, `${method}: one new token`);
          assert.equal((await client.run(method)).fetches, fetches, `${method} again: the cached token`);
        }
        const pub = await client.run("Public");
        assert.equal(pub.code, "OK");
        assert.equal(pub.clientId, "", "a public method gets no token");
        assert.equal(pub.fetches, fetches);
        const credentials = await client.run(language === "go" ? "PERRPC AllOf" : "PLUGIN AllOf");
        assert.equal(credentials.code, "OK", `as call credentials: ${JSON.stringify(credentials)}`);
        assert.deepEqual(credentials.scopes, LEAST_PRIVILEGE.AllOf);
      });
    }

    test("private_key_jwt: tokens for a client that authenticates with a signed assertion", async () => {
      const client = world.client(language, (runtimes[0] as Runtime).address, "private_key_jwt");
      for (const method of ["AllOf", "Watch"]) {
        const result = await client.run(method);
        assert.equal(result.code, "OK", JSON.stringify(result));
        assert.equal(result.clientId, KEYED_CALLER.id);
        assert.deepEqual(result.scopes, LEAST_PRIVILEGE[method]);
      }
    });

    test("50 concurrent cold calls share one token fetch (single-flight)", async () => {
      const client = world.client(language, (runtimes[0] as Runtime).address);
      const result = await client.run("PARALLEL ServiceDefault 50");
      assert.equal(result.code, "OK", JSON.stringify(result));
      assert.equal(result.calls, 50);
      assert.equal(result.fetches, 1);
    });

    for (const server of ["node (grpc-js)", "node (connect)", "go (grpc-go)", "python (grpcio)"]) {
      test(`→ ${server}: a token revoked after use is refused, and the call is retried once with a fresh token`, async () => {
        const runtime = runtimes.find((r) => r.name === server) as Runtime;
        const client = world.client(language, runtime.address);
        const first = await client.run("AllOf");
        assert.equal(first.code, "OK");
        assert.equal(first.fetches, 1);
        await world.denyList.revoke(world.tessera.issuer, first.jti as string, Math.floor(Date.now() / 1000) + 600);
        // The server learns the revocation from its feed (Node) or WatchRevocations (Go, Python): bounded wait.
        const retried = await until(async () => {
          const result = await client.run("AllOf");
          return result.fetches === 2 ? result : undefined;
        }, `${server} refuses the revoked token`);
        assert.equal(retried.code, "OK", JSON.stringify(retried));
        assert.notEqual(retried.jti, first.jti, "a fresh token after invalid_token");
      });
    }
  });
}
