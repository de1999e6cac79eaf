// The audit stream and the metrics listener of a real Tessera: every audit event type after real
// requests (token issued, refused authentication, revocation, throttle block, key rotation), and a
// real Prometheus (Debian's binary) scraping the metrics listener, queried over its HTTP API.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { decodeJwt } from "jose";
import type { TesseraServer } from "../../src/server/tessera-server.js";
import { startCapturedServer } from "../helpers/start-server.js";
import { capturedLogger } from "../helpers/log-capture.js";
import type { Logger } from "../../src/internal/logger.js";
import { REFUSAL_LOG_BUDGET } from "../../src/server/observability/service-observer.js";
import { basicAuthorization, fixtureConfig, SECRETS } from "../helpers/fixtures.js";
import { FrozenClock } from "../helpers/frozen-clock.js";
import { freePorts } from "../helpers/free-ports.js";
import { until } from "../helpers/wait.js";

const PROMETHEUS = "/usr/bin/prometheus";
const CALENDAR = "https://calendar.example.com";

let server: TesseraServer;
/** Every line the server logged, as the logger got it. */
const logLines: ({ level: string; msg: string } & Record<string, unknown>)[] = [];
let dir: string;
let auditFile: string;
const clock = new FrozenClock();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "tessera-observability-"));
  auditFile = join(dir, "audit.jsonl");
  const { config } = await fixtureConfig({ issuerFromListener: true });
  server = await startCapturedServer({
    config: {
      ...config,
      rateLimit: { ...config.rateLimit, failures: 2 },
      metrics: { enabled: true, host: "127.0.0.1", port: 0 },
      audit: { enabled: true, file: auditFile },
    },
    clock,
    logger: recordingLogger(capturedLogger()),
  });
});

function recordingLogger(next: Logger): Logger {
  const at = (level: keyof Logger) => (msg: string, fields?: Record<string, unknown>) => {
    logLines.push({ level, msg, ...fields });
    next[level](msg, fields);
  };
  return { info: at("info"), warn: at("warn"), error: at("error") };
}
after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

type AuditLine = Record<string, unknown> & { event: string; time: string };

function auditLines(): AuditLine[] {
  return readFileSync(auditFile, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as AuditLine);
}

function lastOf(event: string): AuditLine {
  const found = auditLines().filter((l) => l.event === event);
  assert.ok(found.length > 0, `no ${event} audit line`);
  return found.at(-1)!;
}

async function post(path: string, form: Record<string, string>, authorization?: string) {
  const response = await fetch(`${server.httpUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...(authorization !== undefined ? { authorization } : {}) },
    body: new URLSearchParams(form).toString(),
  });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const issue = () =>
  post("/oauth2/token", { grant_type: "client_credentials", resource: CALENDAR, scope: "event.view" }, basicAuthorization("billing", SECRETS.basic));

let issued = 0;

describe("audit stream", () => {
  test("config.loaded and the first keys at start", () => {
    const loaded = lastOf("config.loaded");
    assert.equal(loaded.issuer, server.issuer);
    assert.equal(loaded.store, "memory");
    assert.equal(loaded.metrics, server.metricsAddress);
    assert.ok(auditLines().some((l) => l.event === "key.published"));
    assert.ok(auditLines().some((l) => l.event === "key.rotated"));
  });

  test("token.issued: client, audience, scopes, jti, kid, grant type, auth method, source, expiry; never the token", async () => {
    const r = await issue();
    issued++;
    assert.equal(r.status, 200);
    const token = r.json.access_token as string;
    const claims = decodeJwt(token);
    const line = lastOf("token.issued");
    assert.equal(line.client_id, "billing");
    assert.equal(line.audience, CALENDAR);
    assert.deepEqual(line.scopes, ["event.view"]);
    assert.equal(line.jti, claims.jti);
    assert.equal(line.kid, JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()).kid);
    assert.equal(line.grant_type, "client_credentials");
    assert.equal(line.auth_method, "client_secret_basic");
    assert.equal(line.source, "127.0.0.1");
    assert.equal(line.expires_at, new Date(claims.exp! * 1000).toISOString());
    assert.ok(!readFileSync(auditFile, "utf8").includes(token));
  });

  test("client_auth.refused: Basic to a client_secret_post client says why, to the operator only", async () => {
    const r = await post("/oauth2/token", { grant_type: "client_credentials" }, basicAuthorization("reporter", SECRETS.post));
    assert.equal(r.status, 401);
    assert.deepEqual(Object.keys(r.json).sort(), ["error", "error_description"]);
    assert.ok(!JSON.stringify(r.json).includes("client_secret_post"), "the client is never told the reason");
    const line = lastOf("client_auth.refused");
    assert.equal(line.client_id, "reporter");
    assert.equal(line.method, "client_secret_basic");
    assert.equal(line.reason, "auth_method_mismatch");
    assert.match(String(line.detail), /registered for client_secret_post but sent client_secret_basic/);
    assert.ok(!readFileSync(auditFile, "utf8").includes(SECRETS.post));
  });

  test("token.revoked: by whom, which jti", async () => {
    const r = await issue();
    issued++;
    const token = r.json.access_token as string;
    const revoked = await post("/oauth2/revoke", { token }, basicAuthorization("billing", SECRETS.basic));
    assert.equal(revoked.status, 200);
    const line = lastOf("token.revoked");
    assert.equal(line.client_id, "billing");
    assert.equal(line.jti, decodeJwt(token).jti);
    assert.equal(line.audience, CALENDAR);
  });

  test("throttle.blocked: once when a (client, source) starts being refused", async () => {
    const wrong = basicAuthorization("odd:client%id", "not-the-secret-0123456789abcdef0123456789abcdef");
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await post("/oauth2/token", { grant_type: "client_credentials" }, wrong)).status);
    assert.deepEqual(statuses, [401, 401, 429, 429]);
    const blocks = auditLines().filter((l) => l.event === "throttle.blocked");
    assert.equal(blocks.length, 1);
    assert.equal(blocks[0]!.client_id, "odd:client%id");
    assert.equal(blocks[0]!.source, "127.0.0.1");
    assert.ok(Number(blocks[0]!.retry_after_seconds) > 0);
    assert.equal(lastOf("client_auth.refused").reason, "wrong_secret");
  });

  test("key.rotated, key.retired, key.published on a scheduled rotation; key.revoked on an emergency", async () => {
    const manager = server.keyManager!;
    const before = manager.records().find((r) => r.state === "active")!.kid;
    clock.advance(7 * 86_400 + 1);
    await manager.tick();
    const rotated = lastOf("key.rotated");
    assert.equal(rotated.previous_kid, before);
    assert.notEqual(rotated.kid, before);
    assert.equal(lastOf("key.retired").kid, before);
    assert.ok(auditLines().filter((l) => l.event === "key.published").length >= 3);
    await manager.revoke(before);
    assert.equal(lastOf("key.revoked").kid, before);
    for (const line of auditLines()) {
      assert.ok(typeof line.time === "string" && typeof line.event === "string");
      assert.ok(!JSON.stringify(line).match(/secret-0123|eyJ/), "no secret or token in any audit line");
    }
  });
});

describe("metrics listener", () => {
  test("serves /metrics on its own listener, never on the public one", async () => {
    assert.ok(server.metricsAddress !== undefined && server.metricsAddress !== new URL(server.httpUrl).host);
    const text = await (await fetch(`http://${server.metricsAddress}/metrics`)).text();
    assert.match(
      text,
      /^tessera_tokens_issued_total\{client="billing",audience="https:\/\/calendar\.example\.com",grant_type="client_credentials",auth_method="client_secret_basic"\} 2$/m,
    );
    assert.match(text, /^tessera_refusals_total\{endpoint="token",error="invalid_client",reason="auth_method_mismatch"\} 1$/m);
    assert.match(text, /^tessera_throttle_blocks_total 2$/m);
    assert.match(text, /^tessera_revocations_total\{client="billing"\} 1$/m);
    assert.match(text, /^tessera_build_info\{version="[^"]+",node="v[^"]+"\} 1$/m);
    assert.match(text, /^tessera_signing_key_age_seconds\{kid="[^"]+",state="active"\} \d/m);
    assert.match(text, /^tessera_http_request_duration_seconds_count\{endpoint="token",status="200"\} 2$/m);
    assert.equal((await fetch(`${server.httpUrl}/metrics`)).status, 404);
  });

  test("a real Prometheus scrapes it; PromQL counts the tokens issued", { timeout: 90_000 }, async () => {
    const [port] = await freePorts(1);
    const configFile = join(dir, "prometheus.yml");
    writeFileSync(
      configFile,
      [
        "global:",
        "  scrape_interval: 1s",
        "  scrape_timeout: 1s",
        "scrape_configs:",
        "  - job_name: tessera",
        "    static_configs:",
        `      - targets: ["${server.metricsAddress}"]`,
        "",
      ].join("\n"),
    );
    const prometheus: ChildProcess = spawn(
      PROMETHEUS,
      [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, "tsdb")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    prometheus.stderr!.on("data", (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
    const exited = new Promise<void>((resolve) => prometheus.once("close", () => resolve()));
    try {
      const query = async (promql: string) => {
        const response = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`);
        const body = (await response.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
        return body.data.result;
      };
      await until(async () => ((await query('up{job="tessera"}'))[0]?.value[1] === "1" ? true : undefined), `the target up\n${stderr}`, 60_000, 250);
      for (let i = 0; i < 3; i++) {
        assert.equal((await issue()).status, 200);
        issued++;
      }
      const total = await until(
        async () => {
          const value = (await query('sum(tessera_tokens_issued_total{client="billing"})'))[0]?.value[1];
          return value === String(issued) ? value : undefined;
        },
        `the issued count (${issued}) in Prometheus`,
        30_000,
        250,
      );
      assert.equal(total, String(issued));
      const refused = await query('tessera_refusals_total{reason="auth_method_mismatch"}');
      assert.equal(refused[0]?.metric.error, "invalid_client");
    } finally {
      prometheus.kill("SIGTERM");
      const killer = setTimeout(() => prometheus.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(killer);
    }
  });
});

describe("logs", () => {
  test("refused authentications are logged up to a budget per window; the rest are counted in one line, and all are audited", async () => {
    clock.advance(REFUSAL_LOG_BUDGET.windowMs / 1000 + 1); // a window of its own
    const logged = () => logLines.filter((l) => l.msg === "client authentication refused").length;
    const audited = () => auditLines().filter((l) => l.event === "client_auth.refused").length;
    const [logBefore, auditBefore] = [logged(), audited()];
    const flood = REFUSAL_LOG_BUDGET.lines + 5;
    // A client id each: every one under the failed-authentication throttle.
    for (let i = 0; i < flood; i++) {
      const r = await post("/oauth2/token", { grant_type: "client_credentials" }, basicAuthorization(`flood-${i}`, "not-the-secret-0123456789abcdef"));
      assert.equal(r.status, 401);
    }
    assert.equal(audited() - auditBefore, flood, "the audit stream has every refusal");
    assert.equal(logged() - logBefore, REFUSAL_LOG_BUDGET.lines, "the log only the budget");
    assert.ok(!logLines.some((l) => l.msg === "client authentication refusals not logged"));

    clock.advance(REFUSAL_LOG_BUDGET.windowMs / 1000);
    assert.equal((await post("/oauth2/token", { grant_type: "client_credentials" }, basicAuthorization("flood-last", "not-the-secret"))).status, 401);
    const summary = logLines.filter((l) => l.msg === "client authentication refusals not logged");
    assert.equal(summary.length, 1);
    assert.equal(summary[0]!.count, 5);
    assert.equal(logged() - logBefore, REFUSAL_LOG_BUDGET.lines + 1, "a new window logs again");
  });
});
