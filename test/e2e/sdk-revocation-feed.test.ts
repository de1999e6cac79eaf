// The Go and Python verifiers fail closed when their revocation feed is gone:
// once WatchRevocations has been silent longer than the staleness bound, a
// token they verified before is answered UNAVAILABLE (temporarily_unavailable),
// never accepted on a deny set that may be out of date.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { call, mint } from "../helpers/conformance.js";
import { CONFORMANCE_SERVICE, ConformanceWorld, fixtureMessages, stopChild, type Started } from "../helpers/conformance-runners.js";
import { until } from "../helpers/wait.js";

const world = new ConformanceWorld();
const started: { name: string; runner: Started }[] = [];

before(
  async () => {
    await world.start();
    started.push({ name: "go", runner: await world.startGo(["ConformanceService"], { staleAfterMs: 2000 }) });
    started.push({ name: "python", runner: await world.startPython(["ConformanceService"], { staleAfterMs: 2000 }) });
  },
  { timeout: 300_000 },
);

after(async () => {
  for (const { runner } of started) await stopChild(runner.child);
  await world.stop();
});

test("with the token service gone, a known token is UNAVAILABLE once the deny set is stale, in Go and Python", async () => {
  const minted = mint({ scopes: [] }, world.signingKey, world.tessera.issuer, CONFORMANCE_SERVICE);
  const authorization = [`Bearer ${minted.token}`];
  const clients = started.map(({ name, runner }) => ({ name, client: new grpc.Client(runner.address as string, grpc.credentials.createInsecure()) }));
  const decide = (client: grpc.Client) => call(client, `/${CONFORMANCE_SERVICE}/AnyToken`, false, authorization, fixtureMessages);
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
