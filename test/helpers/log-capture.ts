// The suite-wide secret scan's capture side (docs/development.md, "No secret in any log").
// With TESSERA_TEST_LOG_DIR set (npm test sets it), the helpers that start Tessera servers
// and CLI children tee every log and audit line into that directory, and record the secrets
// the tests hand them; scripts/scan-test-logs.ts then looks for those secrets (and for any
// compact JWS) in every captured line. Unset, everything here does nothing.
// Children never see the variable (childEnv drops TESSERA_*): this process tees their output.
import { appendFileSync, createWriteStream, mkdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import type { TesseraConfig } from "../../src/config/types.js";
import { silentLogger, type Logger } from "../../src/internal/logger.js";

const root = process.env.TESSERA_TEST_LOG_DIR ? resolve(process.env.TESSERA_TEST_LOG_DIR) : undefined;
/** This test file and process: the prefix of every file it captures into. */
const label = `${basename(process.argv[1] ?? "node")}.${process.pid}`;
/** Secrets shorter than this are not recorded: they would match by chance. */
const MIN_SECRET_LENGTH = 8;

export const SECRETS_DIR = "secrets";

let prepared = false;
function dir(): string {
  if (root === undefined) throw new Error("log capture is off");
  if (!prepared) mkdirSync(join(root, SECRETS_DIR), { recursive: true });
  prepared = true;
  return root;
}

let files = 0;
/** A new capture file of this process, named after the test file and `what`. */
function captureFile(what: string): string {
  return join(dir(), `${label}.${++files}.${what}.log`);
}

const recorded = new Set<string>();

/** Whether this run captures (TESSERA_TEST_LOG_DIR is set). */
export const capturing = root !== undefined;

/** Records secrets (client secrets, KEKs, passwords, private keys) that no log or audit line may hold. */
export function recordSecrets(...values: (string | undefined)[]): void {
  if (root === undefined) return;
  const fresh = values.filter((v): v is string => v !== undefined && v.length >= MIN_SECRET_LENGTH && !recorded.has(v));
  if (fresh.length === 0) return;
  for (const value of fresh) recorded.add(value);
  appendFileSync(join(dir(), SECRETS_DIR, `${label}.jsonl`), fresh.map((v) => `${JSON.stringify(v)}\n`).join(""));
}

const SECRET_NAME = /SECRET|KEK|PASSWORD|PASS$|TOKEN|PRIVATE/i;
/** Variables that name where a secret is, not the secret: their values (paths) may be logged. */
const LOCATION_NAME = /_(FILE|PATH|DIR)$/i;
const SECRET_FLAGS = new Set(["--client-secret", "--secret", "--password", "--token", "--kek"]);

/** Records what looks secret in a child's environment and arguments: values of *SECRET*, *KEK*, … variables, Redis URL passwords, `--client-secret` values. */
export function recordChildSecrets(args: readonly string[], env: Record<string, string | undefined>): void {
  if (root === undefined) return;
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (SECRET_NAME.test(name) && !LOCATION_NAME.test(name)) recordSecrets(value);
    if (/^rediss?:\/\//.test(value)) recordSecrets(urlPassword(value));
  }
  args.forEach((arg, i) => {
    if (SECRET_FLAGS.has(arg)) recordSecrets(args[i + 1]);
  });
}

function urlPassword(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

/** Appends a child's stream to a capture file, whole (stderr: its logs) or only its JSON lines (stdout: audit lines, not a command's output). */
export function teeChildOutput(stream: Readable, what: string, only: "all" | "json-lines" = "all"): void {
  if (root === undefined) return;
  const out = createWriteStream(captureFile(what));
  let partial = "";
  stream.on("data", (chunk: Buffer | string) => {
    if (only === "all") {
      out.write(chunk);
      return;
    }
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop() ?? "";
    const json = lines.filter((line) => line.startsWith("{"));
    if (json.length > 0) out.write(`${json.join("\n")}\n`);
  });
  stream.once("close", () => out.end(only === "json-lines" && partial.startsWith("{") ? partial : ""));
}

/** A logger for a Tessera server in this process: its lines go to a capture file (off: nowhere). */
export function capturedLogger(): Logger {
  if (root === undefined) return silentLogger;
  const file = captureFile("server-log");
  const write = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    appendFileSync(file, `${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
  return { info: write("info"), warn: write("warn"), error: write("error") };
}

/** `config` with its audit stream written into a capture file, unless a file was chosen (off: `config` as it is). */
export function withCapturedAudit(config: TesseraConfig): TesseraConfig {
  if (root === undefined || config.audit.file !== undefined) return config;
  return { ...config, audit: { ...config.audit, enabled: true, file: captureFile("audit") } };
}
