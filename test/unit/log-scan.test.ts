// The suite-wide secret scan (scripts/scan-test-logs.ts) finds recorded secrets and compact JWSs
// in captured lines, and names where without printing what.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { scanCapturedLogs } from "../../scripts/scan-test-logs.js";
import { runToEnd } from "../helpers/child-process.js";

const SECRET = "a-recorded-secret-0123456789abcdef";
const JWS = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJiaWxsaW5nIn0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU";

const dir = mkdtempSync(join(tmpdir(), "tessera-log-scan-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function capture(files: Record<string, string>): string {
  const run = mkdtempSync(join(dir, "run-"));
  mkdirSync(join(run, "secrets"));
  writeFileSync(join(run, "secrets", "x.test.ts.1.jsonl"), `${JSON.stringify(SECRET)}\n`);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(run, name), text);
  return run;
}

test("clean lines pass; the recorded secrets themselves are not scanned", () => {
  const run = capture({ "x.test.ts.1.1.server-log.log": '{"level":"info","msg":"tessera listening"}\n{"event":"token.issued","jti":"abc"}\n' });
  const result = scanCapturedLogs(run);
  assert.deepEqual(result.hits, []);
  assert.equal(result.secrets, 1);
  assert.equal(result.files, 1);
});

test("a recorded secret or any compact JWS is a hit, named by file and line", () => {
  const run = capture({
    "a.log": `{"msg":"ok"}\n{"msg":"client_secret=${SECRET}"}\n`,
    "b.log": `x\ny\nAuthorization: Bearer ${JWS}\n`,
  });
  assert.deepEqual(scanCapturedLogs(run).hits, [
    { file: "a.log", line: 2, kind: "recorded secret" },
    { file: "b.log", line: 3, kind: "compact JWS" },
  ]);
});

test("the script fails on a hit and prints where, never the secret", async () => {
  const run = capture({ "a.log": `${SECRET}\n${JWS}\n` });
  const { code, stdout, stderr } = await runToEnd(process.execPath, ["--import", "tsx", "scripts/scan-test-logs.ts", run], {
    env: process.env,
    timeoutMs: 30_000,
  });
  assert.equal(code, 1);
  assert.match(stderr, /a\.log:1: a recorded secret/);
  assert.match(stderr, /a\.log:2: a compact JWS/);
  assert.ok(!`${stdout}${stderr}`.includes(SECRET) && !`${stdout}${stderr}`.includes(JWS));
});
