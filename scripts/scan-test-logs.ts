// The suite-wide secret scan (docs/development.md, "No secret in any log"): after `npm test`,
// looks through every log and audit line the test helpers captured (test/helpers/log-capture.ts)
// for the secrets the tests recorded and for any compact JWS (an access token, a client
// assertion). Prints only where a hit is (file and line number), never what it found.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Three base64url parts, the first two JSON objects: a token or an assertion, whoever signed it. */
const COMPACT_JWS = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/;
const SECRETS_DIR = "secrets";

export interface Hit {
  file: string;
  line: number;
  /** What matched, named without its value. */
  kind: "recorded secret" | "compact JWS";
}

export interface ScanResult {
  files: number;
  lines: number;
  secrets: number;
  hits: Hit[];
}

function recordedSecrets(dir: string): string[] {
  const secretsDir = join(dir, SECRETS_DIR);
  if (!existsSync(secretsDir)) return [];
  const secrets = new Set<string>();
  for (const name of readdirSync(secretsDir)) {
    for (const line of readFileSync(join(secretsDir, name), "utf8").split("\n")) if (line !== "") secrets.add(JSON.parse(line) as string);
  }
  return [...secrets];
}

/** Scans every captured file of `dir` (not the recorded secrets themselves). */
export function scanCapturedLogs(dir: string): ScanResult {
  const secrets = recordedSecrets(dir);
  const result: ScanResult = { files: 0, lines: 0, secrets: secrets.length, hits: [] };
  for (const name of readdirSync(dir).sort()) {
    if (name === SECRETS_DIR) continue;
    result.files++;
    const lines = readFileSync(join(dir, name), "utf8").split("\n");
    lines.forEach((text, i) => {
      result.lines++;
      if (secrets.some((secret) => text.includes(secret))) result.hits.push({ file: name, line: i + 1, kind: "recorded secret" });
      else if (COMPACT_JWS.test(text)) result.hits.push({ file: name, line: i + 1, kind: "compact JWS" });
    });
  }
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? process.env.TESSERA_TEST_LOG_DIR;
  if (dir === undefined || !existsSync(dir)) {
    console.error(`scan-test-logs: no captured logs at ${dir ?? "(TESSERA_TEST_LOG_DIR unset)"}`);
    process.exit(1);
  }
  const { files, lines, secrets, hits } = scanCapturedLogs(dir);
  for (const hit of hits) console.error(`${join(dir, hit.file)}:${hit.line}: a ${hit.kind}`);
  console.error(`scan-test-logs: ${lines} lines in ${files} files against ${secrets} recorded secrets and the JWS pattern: ${hits.length} hits`);
  process.exit(hits.length === 0 ? 0 : 1);
}
