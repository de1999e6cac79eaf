// The Go and Python verifiers with the token service gone: once
// WatchRevocations has been silent longer than the staleness bound, a token
// they verified before is answered UNAVAILABLE (temporarily_unavailable),
// never accepted on a deny set that may be out of date; without revocations,
// they keep verifying with the last key set they fetched.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { call, mint } from "../helpers/conformance.js";
import { CONFORMANCE_SERVICE, ConformanceWorld, fixtureMessages, stopChild, type Started } from "../helpers/conformance-runners.js";
import { until } from "../helpers/wait.js";

const world = new ConformanceWorld();
const started: { name: string; runner: Started }[] = [];
const keysOnly: { name: string; runner: Started }[] = [];
const anyToken = (client: grpc.Client, authorization: string[]) => call(client, `/${CONFORMANCE_SERVICE}/AnyToken`, false, authorization, fixtureMessages);
const bearer = (recipe: Parameters<typeof mint>[0]) => [`Bearer ${mint(recipe, world.signingKey, world.tessera.issuer, CONFORMANCE_SERVICE).token}`];

before(
  async () => {
    await world.start();
    started.push({ name: "go", runner: await world.startGo(["ConformanceService"], { staleAfterMs: 2000 }) });
    started.push({ name: "python", runner: await world.startPython(["ConformanceService"], { staleAfterMs: 2000 }) });
    keysOnly.push({ name: "go", runner: await world.startGo(["ConformanceService"]) });
    keysOnly.push({ name: "python", runner: await world.startPython(["ConformanceService"]) });
    // Each loads the issuer's keys with its first token, while Tessera is up.
    for (const { name, runner } of keysOnly) {
      const client = new grpc.Client(runner.address as string, grpc.credentials.createInsecure());
      const outcome = await anyToken(client, bearer({ scopes: [] }));
      client.close();
      assert.equal(outcome.code, "OK", `${name} loads the keys`);
    }
  },
  { timeout: 300_000 },
);

after(async () => {
  for (const { runner } of [...started, ...keysOnly]) await stopChild(runner.child);
  await world.stop();
});

test("with the token service gone, a known token is UNAVAILABLE once the deny set is stale, in Go and Python", async () => {
  const authorization = bearer({ scopes: [] });
  const clients = started.map(({ name, runner }) => ({ name, client: new grpc.Client(runner.address as string, grpc.credentials.createInsecure()) }));
  const decide = (client: grpc.Client) => anyToken(client, authorization);
  try {
    for (const { name, client } of clients) assert.equal((await decide(client)).code, "OK", `${name} accepts the token while the feed is live`);
    await world.stopTessera();
    for (const { name, client } of clients) {
      const outcome = await until(
        async () => {
          const o = await decide(client);
          return o.code === "OK" ? undefined : o;
        },
        `${name} fails closed`,
        15_000,
      );
      assert.equal(outcome.code, "UNAVAILABLE", name);
      assert.equal(outcome.error, "temporarily_unavailable", name);
    }
  } finally {
    for (const { client } of clients) client.close();
  }
});

test("with the token service gone, verifiers without revocations keep the last key set: new tokens verify, unknown kids are refused", async () => {
  const clients = keysOnly.map(({ name, runner }) => ({ name, client: new grpc.Client(runner.address as string, grpc.credentials.createInsecure()) }));
  try {
    await world.stopTessera(); // the previous test may have stopped it already
    for (const { name, client } of clients) {
      assert.equal((await anyToken(client, bearer({ scopes: [] }))).code, "OK", `${name}: a first sight with the last good key set`);
      const unknown = await anyToken(client, bearer({ scopes: [], key: "unknown" }));
      assert.equal(unknown.code, "UNAUTHENTICATED", `${name}: an unknown kid, the refetch failing`);
      assert.equal(unknown.error, "invalid_token", name);
    }
  } finally {
    for (const { client } of clients) client.close();
  }
});
