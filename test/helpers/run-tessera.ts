// Runs the tessera CLI (bin/tessera.js) to its end as a child process, a few at a time.
import { spawn } from "node:child_process";
import { REPO_ROOT, childEnv } from "./child-process.js";
import { recordChildSecrets, teeChildOutput } from "./log-capture.js";

/** How one run of the CLI ended. */
export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** At most this many CLI processes at once: each starts Node with tsx, and the machine may be shared. */
const MAX_CHILDREN = 4;
const RUN_TIMEOUT_MS = 60_000;
let running = 0;
const waiting: (() => void)[] = [];

async function slot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CHILDREN) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function runOnce(args: string[], env: Record<string, string>, input: string | undefined): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const environment = childEnv(env);
    recordChildSecrets(args, environment);
    const child = spawn(process.execPath, ["bin/tessera.js", ...args], {
      cwd: REPO_ROOT,
      env: environment,
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    // Its stdout is the command's output (a token, a new secret): only its stderr is log.
    teeChildOutput(child.stderr!, "cli-stderr");
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`tessera ${args.join(" ")} did not end within ${RUN_TIMEOUT_MS} ms\n${stdout}\n${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

/**
 * Runs `tessera ...args` to its end (bounded: killed after a minute), with `input` on its stdin
 * (none: /dev/null) and the environment of childEnv(env).
 */
export function tessera(args: string[], env: Record<string, string> = {}, input?: string): Promise<Ran> {
  return slot(() => runOnce(args, env, input));
}
