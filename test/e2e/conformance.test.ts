// One corpus, every enforcement point: conformance/cases.json run against the
// Node grpc-js and Connect interceptors, the Go SDK (grpc-go) and the Python
// SDK (grpcio), each a real server verifying tokens against a real Tessera on
// loopback (the Go and Python ones following WatchRevocations and WatchKeys).
// Every case must get the decision the corpus expects, in every runtime.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { rulesByPath } from "../../src/index.js";
import { authorizationOf, call, type ConformanceCase, loadCorpus, meets, type Minted, mint, type Outcome } from "../helpers/conformance.js";
import { ConformanceWorld, fixtureMessages, fixtureService, type Runtime, stopChild } from "../helpers/conformance-runners.js";
import { until } from "../helpers/wait.js";

const corpus = loadCorpus();
const world = new ConformanceWorld();
const runtimes: Runtime[] = [];
const clients = new Map<string, grpc.Client>();

before(
  async () => {
    await world.start();
    runtimes.push(...(await world.startRuntimes()));
    for (const runtime of runtimes) clients.set(runtime.name, new grpc.Client(runtime.address, grpc.credentials.createInsecure()));
  },
  { timeout: 300_000 },
);

after(async () => {
  for (const client of clients.values()) client.close();
  for (const runtime of runtimes) await runtime.stop();
  await world.stop();
});

async function decide(runtime: Runtime, c: ConformanceCase): Promise<{ outcome: Outcome; minted: Minted | undefined }> {
  const { tessera } = world;
  const minted = c.token === undefined ? undefined : mint(c.token, world.signingKey, tessera.issuer, corpus.service);
  if (c.revoke === "token" && minted) await world.denyList.revoke(tessera.issuer, minted.jti, minted.exp);
  if (c.revoke === "client" && minted) {
    const now = Math.floor(Date.now() / 1000);
    await world.denyList.revokeClient(tessera.issuer, minted.clientId, now + 1, now + 600);
  }
  const client = clients.get(runtime.name) as grpc.Client;
  const path = c.path ?? `/${corpus.service}/${c.method}`;
  const once = () => call(client, path, c.method === "Watch", authorizationOf(c, minted), fixtureMessages);
  if (!c.revoke) return { outcome: await once(), minted };
  // A revocation reaches a verifier through its feed: wait for it, bounded.
  const honoured = async () => {
    const outcome = await once();
    return meets(outcome, c, minted) ? outcome : undefined;
  };
  const outcome = await until(honoured, `${runtime.name} honours the revocation`, 5000).catch(() => once());
  return { outcome, minted };
}

describe("conformance corpus", () => {
  test(`the corpus has at least 150 cases (${corpus.cases.length}), each named once`, () => {
    assert.ok(corpus.cases.length >= 150);
    assert.equal(new Set(corpus.cases.map((c) => c.name)).size, corpus.cases.length);
  });

  test("every runtime decides every case as the corpus expects: zero divergence", async () => {
    const divergent: string[] = [];
    const pending: string[] = [];
    for (const c of corpus.cases) {
      for (const runtime of runtimes) {
        if (c.revoke && !runtime.revocations) {
          pending.push(`${runtime.name}: ${c.name}`);
          continue;
        }
        const { outcome, minted } = await decide(runtime, c);
        if (!meets(outcome, c, minted)) divergent.push(`${runtime.name}: ${c.name}: got ${JSON.stringify(outcome)}, expected ${JSON.stringify(c.expect)}`);
      }
    }
    assert.deepEqual(divergent, []);
    if (pending.length > 0) console.log(`conformance: ${pending.length} revocation decisions wait for WatchRevocations:\n  ${pending.join("\n  ")}`);
  });

  test("an open stream ends with UNAUTHENTICATED once its token is revoked, in every runtime", async () => {
    for (const runtime of runtimes) {
      const minted = mint({ scopes: ["conf.read"] }, world.signingKey, world.tessera.issuer, corpus.service);
      const metadata = new grpc.Metadata();
      metadata.set("authorization", `Bearer ${minted.token}`);
      const client = clients.get(runtime.name) as grpc.Client;
      const stream = client.makeServerStreamRequest(
        `/${corpus.service}/Follow`,
        (v: Buffer) => v,
        (b: Buffer) => b,
        Buffer.alloc(0),
        metadata,
        { deadline: Date.now() + 12_000 },
      );
      const ended = new Promise<grpc.ServiceError | undefined>((resolve) => {
        stream.on("error", (err: grpc.ServiceError) => resolve(err));
        stream.on("end", () => resolve(undefined));
        stream.on("data", () => {});
      });
      await new Promise<void>((resolve) => stream.once("data", () => resolve()));
      await world.denyList.revoke(world.tessera.issuer, minted.jti, minted.exp);
      const err = await ended;
      assert.equal(err?.code, grpc.status.UNAUTHENTICATED, `${runtime.name}: ${err?.message}`);
    }
  });

  for (const s of corpus.startup) {
    test(`startup: ${s.name}`, async () => {
      for (const [name, start] of [
        ["go", (g: readonly string[]) => world.startGo(g)],
        ["python", (g: readonly string[]) => world.startPython(g)],
      ] as const) {
        const started = await start(s.guard);
        await stopChild(started.child);
        if (s.expect.starts) assert.ok(started.address, `${name} starts`);
        else assert.deepEqual(started.ruleError, s.expect.methods, `${name} refuses to start`);
      }
      let refused: string[] | undefined;
      try {
        rulesByPath(s.guard.map(fixtureService));
      } catch (err) {
        refused = (err as { methods?: string[] }).methods;
      }
      if (s.expect.starts) assert.equal(refused, undefined, "node starts");
      else assert.deepEqual(refused, s.expect.methods, "node refuses to start");
    });
  }
});
