// `tessera keys list|rotate|revoke` and `tessera config check` against a real Redis, the CLI run as a
// child process: with signing.keyFile (read-only list, refusals with the procedure, nothing written to
// Redis) and with managed keys (schedule printed by rotate, revoke, the KEK checks).
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { validateConfig } from "../../src/config/validate.js";
import type { TesseraServer } from "../../src/server/tessera-server.js";
import { startCapturedServer } from "../helpers/start-server.js";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { tessera } from "../helpers/run-tessera.js";

let tmp: string;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "tessera-cli-keys-test-"));
});

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("tessera keys and config check against Redis", () => {
  let redis: RedisServer;
  let keyFile: string;
  let fileKid: string;
  const servers: TesseraServer[] = [];
  const KEK = randomBytes(32).toString("base64url");
  const ISSUER = "https://tessera.example";

  before(async () => {
    redis = await startRedisServer();
    const generated = await tessera(["keys", "generate"]);
    assert.equal(generated.code, 0, generated.stderr);
    fileKid = /^kid: (\S+) \(ES256\)/.exec(generated.stderr)![1]!;
    keyFile = join(tmp, "redis-signing-key.pem");
    await writeFile(keyFile, generated.stdout);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await redis?.destroy();
  });

  function doc(prefix: string, extra: Record<string, unknown> = {}) {
    return {
      issuer: ISSUER,
      http: { port: 0 },
      metrics: { enabled: false },
      audit: { enabled: false },
      grpc: { port: 0 },
      redis: { url: redis.url, keyPrefix: prefix },
      signing: { rotation: { periodSeconds: 3600, leadTimeSeconds: 60, checkIntervalSeconds: 3600 } },
      clients: [],
      ...extra,
    };
  }

  async function configFile(name: string, content: Record<string, unknown>): Promise<string> {
    const file = join(tmp, name);
    await writeFile(file, JSON.stringify(content));
    return file;
  }

  async function ringExists(prefix: string): Promise<boolean> {
    return (await redis.cli("EXISTS", `${prefix}{keys}:ring`)) === "1";
  }

  test("with signing.keyFile: list shows the file's key read-only, creates nothing in Redis, needs no KEK", async () => {
    const file = await configFile("keyfile.json", doc("kf:", { signing: { keyFile } }));
    const [withKek, withoutKek] = await Promise.all([tessera(["keys", "list", "--config", file], { TESSERA_KEK: KEK }), tessera(["keys", "list", "-c", file])]);
    for (const ran of [withKek, withoutKek]) {
      assert.equal(ran.code, 0, ran.stderr);
      assert.match(ran.stdout, /signing\.keyFile is set/);
      assert.match(ran.stdout, new RegExp(`^${fileKid}  ES256  file`, "m"));
      assert.equal(ran.stdout.match(/^\S+ {2}(ES256|EdDSA|RS256) {2}/gm)?.length, 1, "one key: the file's, no phantom ring");
      assert.ok(!/Redis\b.*live|PRIVATE KEY/.test(ran.stdout + ran.stderr));
    }
    assert.equal(await ringExists("kf:"), false, "no key ring was created in Redis");
    assert.equal(await redis.cli("DBSIZE"), "0", "nothing at all was written");
  });

  test("with signing.keyFile: rotate and revoke refuse (exit 1) with the procedure, and touch nothing", async () => {
    const file = await configFile("keyfile.json", doc("kf:", { signing: { keyFile } }));
    const [rotate, revoke, noKek] = await Promise.all([
      tessera(["keys", "rotate", "--config", file], { TESSERA_KEK: KEK }),
      tessera(["keys", "revoke", fileKid, "--config", file], { TESSERA_KEK: KEK }),
      tessera(["keys", "rotate", "--config", file]),
    ]);
    for (const ran of [rotate, revoke, noKek]) {
      assert.equal(ran.code, 1, ran.stderr);
      assert.match(ran.stderr, /signing\.keyFile is set .*does not manage it/);
      assert.match(ran.stderr, /tessera keys generate --alg ES256/);
      assert.match(ran.stderr, /replace .* on every replica/);
      assert.match(ran.stderr, /restart every replica/);
      assert.ok(!/keys live in Redis|TESSERA_KEK \(or TESSERA_KEK_FILE\) is required/.test(ran.stderr), "no false claim about Redis");
      assert.equal(ran.stdout, "");
    }
    assert.match(revoke.stderr, /withdraw it/);
    assert.equal(await redis.cli("DBSIZE"), "0");
  });

  test("managed keys: rotate and revoke without TESSERA_KEK exit 78 naming it; on an empty ring they refuse and create none", async () => {
    const file = await configFile("managed-empty.json", doc("empty:"));
    const [noKek, rotate, list] = await Promise.all([
      tessera(["keys", "rotate", "--config", file]),
      tessera(["keys", "rotate", "--config", file], { TESSERA_KEK: KEK }),
      tessera(["keys", "list", "--config", file]),
    ]);
    assert.equal(noKek.code, 78);
    assert.match(noKek.stderr, /keys rotate needs TESSERA_KEK \(or TESSERA_KEK_FILE\)/);
    assert.equal(rotate.code, 1);
    assert.match(rotate.stderr, /no key ring in Redis under the prefix "empty:"/);
    assert.equal(list.code, 0);
    assert.match(list.stdout, /no key ring in Redis under the prefix "empty:" yet/);
    assert.equal(await ringExists("empty:"), false);
  });

  test("managed keys: rotate prints when the standby signs and what the pending request applies to; revoke says what happened", async () => {
    const prefix = "managed:";
    const server = await startCapturedServer({
      config: validateConfig(doc(prefix), {}, () => ""),
      kek: { id: "cli-test", key: Buffer.from(KEK, "base64url") },
    });
    servers.push(server);
    const records = server.keyManager!.records();
    const active = records.find((r) => r.state === "active")!;
    const standby = records.find((r) => r.state === "next")!;
    const file = await configFile("managed.json", doc(prefix));
    const env = { TESSERA_KEK: KEK };
    const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

    const listed = await tessera(["keys", "list", "--config", file]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${active.kid}  ES256  active `, "m"));
    assert.match(listed.stdout, new RegExp(`next rotation \\(scheduled\\): standby ${standby.kid} signs from ${iso(active.activatedAt! + 3600)}`));

    const rotated = await tessera(["keys", "rotate", "--config", file], env);
    assert.equal(rotated.code, 0, rotated.stderr);
    // The standby was published just now: it signs once it has been published for the lead time (60 s).
    assert.match(rotated.stdout, /^rotation requested$/m);
    assert.match(rotated.stdout, new RegExp(`pending: standby ${standby.kid} signs from ${iso(standby.publishedAt + 60)}`));
    assert.match(rotated.stdout, new RegExp(`${active.kid} signs until then`));
    assert.match(rotated.stdout, /promotes whichever key is the standby when it is carried out/);
    assert.match(rotated.stdout, new RegExp(`^signing now: ${active.kid}`, "m"));

    const again = await tessera(["keys", "rotate", "-c", file], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /a rotation was already requested at .*; nothing changed/);

    const unknown = await tessera(["keys", "revoke", "no-such-kid", "--config", file], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, new RegExp(`no key no-such-kid in the key ring; its keys are: .*${active.kid} \\(active\\)`));

    const revoked = await tessera(["keys", "revoke", active.kid, "--config", file], env);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, new RegExp(`^revoked ${active.kid}: withdrawn from the JWKS`, "m"));
    assert.match(revoked.stdout, new RegExp(`^signing now: ${standby.kid}`, "m"));
    assert.match(revoked.stdout, new RegExp(`^${active.kid}  ES256  revoked`, "m"));
    // The pending request now applies to the new standby, after its own lead time.
    const newStandby = /^(\S+) {2}ES256 {2}next /m.exec(revoked.stdout)![1]!;
    assert.notEqual(newStandby, standby.kid);
    assert.match(revoked.stdout, new RegExp(`pending: standby ${newStandby} signs from `));
    for (const ran of [listed, rotated, again, revoked]) assert.ok(!/"d"|PRIVATE KEY|sealed/.test(ran.stdout + ran.stderr));
  });

  test("config check: Redis and TESSERA_KEK are checked; a missing KEK is an error, a defaulted issuer with Redis a config error", async () => {
    const good = await configFile("check-redis.json", doc("managed:"));
    const bad = await configFile("check-redis-bad.json", doc("check:"));
    const noIssuer = await configFile("check-redis-no-issuer.json", { ...doc("check:"), issuer: undefined });
    const unreachable = await configFile("check-unreachable.json", doc("x:", { redis: { url: "redis://127.0.0.1:1", keyPrefix: "x:" } }));
    const [ok, wrongKek, missing, down, skipped, defaulted] = await Promise.all([
      tessera(["config", "check", "--config", good], { TESSERA_KEK: KEK }),
      tessera(["config", "check", "--config", good], { TESSERA_KEK: randomBytes(32).toString("base64url") }),
      tessera(["config", "check", "--config", bad]),
      tessera(["config", "check", "--config", unreachable], { TESSERA_KEK: KEK }),
      tessera(["config", "check", "--no-redis", "--config", unreachable], { TESSERA_KEK: KEK }),
      tessera(["config", "check", "--config", noIssuer], { TESSERA_KEK: KEK }),
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /redis: answers/);
    assert.match(ok.stdout, /TESSERA_KEK opens them/);
    assert.equal(wrongKek.code, 78);
    assert.match(wrongKek.stderr, /key-encryption key does not open the stored signing keys/);
    assert.equal(missing.code, 78);
    assert.match(missing.stderr, /error: TESSERA_KEK \(or TESSERA_KEK_FILE\) is not set/);
    assert.equal(defaulted.code, 78);
    assert.match(defaulted.stderr, /issuer: must be set when Redis is configured/);
    assert.equal(down.code, 78);
    assert.match(down.stderr, /error: redis: does not answer/);
    assert.equal(skipped.code, 0, skipped.stderr);
    assert.match(skipped.stdout, /redis: not contacted/);
  });
});
