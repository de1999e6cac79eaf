// Signing keys across replicas (issue 6): two Tessera servers sharing one
// Redis key ring rotate under load with zero failed verifications at a
// protected service; an emergency revocation reaches the verifier through the
// revocation feed within a measured bound; a wrong key-encryption key is a
// clear error at start; the CLI lists, rotates and revokes.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { decodeProtectedHeader } from "jose";
import { hashClientSecret } from "../../src/registry/client-secret.js";
import { validateConfig } from "../../src/config/validate.js";
import type { Clock } from "../../src/internal/clock.js";
import { remoteVerifier } from "../../src/remote/remote-verifier.js";
import { KeyEncryptionError } from "../../src/keys/key-sealing.js";
import type { TesseraServer } from "../../src/server/tessera-server.js";
import { startCapturedServer } from "../helpers/start-server.js";
import { clientCredentialsFetcher } from "../../src/token-source/client-credentials-fetcher.js";
import { TokenSource } from "../../src/token-source/token-source.js";
import type { TokenVerifier } from "../../src/verifier/token-verifier.js";
import { calendarClient, type CalendarApi } from "../helpers/calendar-clients.js";
import { REPO_ROOT, childEnv } from "../helpers/child-process.js";
import { CALENDAR, startCalendars, type CalendarServers } from "../helpers/mesh.js";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { until } from "../helpers/wait.js";

const run = promisify(execFile);
const ISSUER = "http://tessera.test";
const SECRET = "tasks-secret-0123456789abcdef0123456789abcdef";
const kek = { id: "rotation-test", key: randomBytes(32) };

/** Real time plus an offset the test moves forward: shared by the replicas and the verifier. */
class OffsetClock implements Clock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
}

let redis: RedisServer;
const clock = new OffsetClock();
const servers: TesseraServer[] = [];
let verifier: TokenVerifier;
let calendars: CalendarServers;
const apis: CalendarApi[] = [];
const dir = mkdtempSync(join(tmpdir(), "tessera-keys-"));

function configDoc(prefix: string) {
  return {
    issuer: ISSUER,
    http: { port: 0 },
    metrics: { enabled: false },
    audit: { enabled: false },
    grpc: { port: 0 },
    redis: { url: redis.url, keyPrefix: prefix },
    signing: { rotation: { periodSeconds: 3600, leadTimeSeconds: 60, checkIntervalSeconds: 3600 } },
    clients: [
      {
        id: "tasks",
        authMethod: "client_secret_basic",
        secretHashes: [hashClientSecret(SECRET)],
        grants: [{ audience: CALENDAR, scopes: ["event.view", "event.create"] }],
      },
    ],
  };
}

async function replica(prefix: string, key = kek): Promise<TesseraServer> {
  const server = await startCapturedServer({ config: validateConfig(configDoc(prefix), {}, () => ""), kek: key, clock });
  servers.push(server);
  return server;
}

function tokensFrom(server: TesseraServer): TokenSource {
  return new TokenSource({
    fetch: clientCredentialsFetcher({
      tokenEndpoint: `${server.httpUrl}/oauth2/token`,
      issuer: ISSUER,
      clientId: "tasks",
      auth: { method: "client_secret_basic", secret: SECRET },
    }),
  });
}

before(async () => {
  redis = await startRedisServer();
  const a = await replica("rot:");
  await replica("rot:");
  verifier = remoteVerifier({ issuer: ISSUER, jwksUrl: `${a.httpUrl}/.well-known/jwks.json`, revocations: a.revocations!, clock });
  await verifier.start();
  calendars = await startCalendars(verifier);
});
after(async () => {
  apis.forEach((api) => api.close());
  await calendars?.stop();
  verifier?.stop();
  await Promise.all(servers.map((s) => s.stop()));
  await redis?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function signingKid(server: TesseraServer): string {
  return server.context.keys.signingKey().kid;
}

describe("two replicas, one key ring", () => {
  test("both sign with the same key and publish the same JWKS, standby included", () => {
    const [a, b] = servers as [TesseraServer, TesseraServer];
    assert.equal(signingKid(a), signingKid(b));
    assert.deepEqual(
      a.context.keys
        .publicJwks()
        .map((k) => k.kid)
        .sort(),
      b.context.keys
        .publicJwks()
        .map((k) => k.kid)
        .sort(),
    );
    assert.equal(a.context.keys.publicJwks().length, 2);
  });

  test("rotation on command and on schedule under load: zero failed calls at the protected service; both replicas switch", async () => {
    const [a, b] = servers as [TesseraServer, TesseraServer];
    let ok = 0;
    let failed = 0;
    const load = async (n: number) => {
      // Fresh token sources: every round fetches tokens signed with the current key, from both replicas.
      const clients = [a, b].map((s) => calendarClient("connect-2", calendars.connectUrl, { tokens: tokensFrom(s) }));
      apis.push(...clients);
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          clients[i % 2]!.listEvents().then(
            () => ok++,
            () => failed++,
          ),
        ),
      );
    };
    const before = signingKid(a);
    await load(100);
    await a.keyManager!.rotate();
    await load(100);
    assert.equal(signingKid(a), before, "the standby waits for its lead time");
    clock.offsetMs += 61_000;
    await Promise.all([a.keyManager!.tick(), b.keyManager!.tick()]);
    await until(() => (signingKid(b) === signingKid(a) ? true : undefined), "replica b to follow the rotation");
    assert.notEqual(signingKid(a), before);
    const rotated = tokensFrom(b);
    assert.equal(decodeProtectedHeader(await rotated.get(CALENDAR, ["event.view"])).kid, signingKid(a), "b signs with the new key");
    await load(200);
    assert.ok(a.context.keys.verificationKey(before), "the retired key stays published");

    // On schedule: once the period is over, the standby published at the last rotation takes over.
    const commanded = signingKid(a);
    clock.offsetMs += 3600_000;
    await Promise.all([b.keyManager!.tick(), a.keyManager!.tick()]);
    await until(() => (signingKid(a) === signingKid(b) && signingKid(a) !== commanded ? true : undefined), "both replicas to rotate on schedule");
    await load(100);
    assert.equal(failed, 0);
    assert.equal(ok, 500);
  });

  test("emergency revocation: out of JWKS, its tokens rejected by the verifier within a bound, the standby signs", async () => {
    const [a, b] = servers as [TesseraServer, TesseraServer];
    const compromised = signingKid(a);
    const oldToken = await tokensFrom(a).get(CALENDAR, ["event.view"]);
    await verifier.verify(oldToken);
    const started = performance.now();
    await a.keyManager!.revoke(compromised);
    await until(
      () =>
        verifier.verify(oldToken).then(
          () => undefined,
          () => true,
        ),
      "the verifier to reject the revoked key's token",
      5000,
      1,
    );
    const elapsedMs = performance.now() - started;
    assert.ok(elapsedMs < 2000, `rejected after ${elapsedMs.toFixed(1)} ms`);
    process.stdout.write(`# key revocation reached the verifier in ${elapsedMs.toFixed(1)} ms\n`);
    assert.ok(!a.context.keys.publicJwks().some((k) => k.kid === compromised));
    await until(() => (signingKid(b) !== compromised ? true : undefined), "replica b to drop the revoked key");
    assert.equal(signingKid(a), signingKid(b));
    // Clients holding a token of the revoked key are refused once, then get a new token and succeed.
    const api = calendarClient("connect-2", calendars.connectUrl, { tokens: tokensFrom(b) });
    apis.push(api);
    await api.listEvents();
  });

  test("a replica with another key-encryption key refuses to start, naming the problem", async () => {
    await assert.rejects(
      replica("rot:", { id: "wrong", key: randomBytes(32) }),
      (err: unknown) => err instanceof KeyEncryptionError && /TESSERA_KEK/.test(err.message),
    );
  });
});

describe("tessera keys list | rotate | revoke", () => {
  test("the CLI works on the shared ring; no private key member is ever printed", async () => {
    await replica("cli:"); // the servers make the ring; the CLI never creates one
    const configFile = join(dir, "tessera.yaml");
    writeFileSync(configFile, JSON.stringify(configDoc("cli:")));
    const env = childEnv({ TESSERA_KEK: Buffer.from(kek.key).toString("base64url") });
    const cli = async (...args: string[]) =>
      (await run(process.execPath, ["bin/tessera.js", "keys", ...args, "--config", configFile], { cwd: REPO_ROOT, env, timeout: 30_000 })).stdout;
    const listed = await cli("list");
    const lines = listed
      .trim()
      .split("\n")
      .filter((l) => /^\S+ {2}ES256 {2}/.test(l));
    assert.equal(lines.length, 2);
    assert.match(listed, /active/);
    assert.match(listed, /next/);
    const active = lines.find((l) => l.includes("active"))!.split(/\s+/)[0]!;
    const afterRevoke = await cli("revoke", active);
    assert.match(afterRevoke, new RegExp(`${active}\\s+ES256\\s+revoked`));
    assert.equal(
      afterRevoke
        .trim()
        .split("\n")
        .filter((l) => l.includes(" active ")).length,
      1,
      "the standby signs",
    );
    const afterRotate = await cli("rotate");
    assert.match(afterRotate, /next/);
    for (const out of [listed, afterRevoke, afterRotate]) assert.ok(!/"d"|PRIVATE KEY|sealed/.test(out));
    const wrong = await run(process.execPath, ["bin/tessera.js", "keys", "list", "--config", configFile], {
      cwd: REPO_ROOT,
      env: childEnv({ TESSERA_KEK: randomBytes(32).toString("base64url") }),
      timeout: 30_000,
    }).then(
      () => "",
      (err: { stderr: string }) => err.stderr,
    );
    assert.match(wrong, /key-encryption key does not open/);
  });
});
