import { spawn, type ChildProcess } from "node:child_process";
import { recordChildSecrets, teeChildOutput } from "./log-capture.js";

/** The repository root: bin/tessera.js resolves its TypeScript from here. */
export const REPO_ROOT = new URL("../../", import.meta.url).pathname;

/** A spawned process whose output is collected, with bounded waits on it. */
export interface Spawned {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in the stream's output so far or to come; rejects on timeout or exit. */
  waitFor(stream: "stdout" | "stderr", pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves when the process exits; rejects when it has not within `timeoutMs`. */
  exited(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills the process if it is still running (SIGKILL). */
  kill(): void;
}

/**
 * Node's condition under which `tessera/*` imports resolve to src/*.ts (the repository's examples and
 * tests) instead of the compiled dist/ a published package holds (package.json "exports").
 */
export const SOURCE_CONDITION = "--conditions=tessera-source";

/**
 * Environment for a child: this process's, without TESSERA_* variables, plus `env`; its Node resolves
 * `tessera/*` to the sources. Its metrics listener takes a free port (tests run side by side), unless `env` says.
 */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("TESSERA_")));
  const nodeOptions = base.NODE_OPTIONS ?? "";
  return {
    ...base,
    NODE_OPTIONS: nodeOptions.includes(SOURCE_CONDITION) ? nodeOptions : `${nodeOptions} ${SOURCE_CONDITION}`.trim(),
    TESSERA_METRICS_PORT: "0",
    ...env,
  };
}

/** Spawns `node bin/tessera.js ...args` in the repository root. */
export function spawnTessera(args: string[], env: Record<string, string> = {}): Spawned {
  const childEnvironment = childEnv(env);
  recordChildSecrets(args, childEnvironment);
  const child = spawn(process.execPath, ["bin/tessera.js", ...args], { cwd: REPO_ROOT, env: childEnvironment, stdio: ["ignore", "pipe", "pipe"] });
  teeChildOutput(child.stderr!, "tessera-stderr");
  teeChildOutput(child.stdout!, "tessera-audit", "json-lines");
  const output = { stdout: "", stderr: "" };
  const listeners = new Set<() => void>();
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    output.stdout += chunk;
    notify();
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    output.stderr += chunk;
    notify();
  });
  child.once("close", (code, signal) => {
    exit = { code, signal };
    notify();
  });

  function until<T>(check: () => T | undefined, onExit: () => Error | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        listeners.delete(listener);
      };
      const listener = () => {
        const value = check();
        if (value !== undefined) {
          done();
          resolve(value);
          return;
        }
        const err = exit === undefined ? undefined : onExit();
        if (err !== undefined) {
          done();
          reject(err);
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(listener);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\nstdout:\n${output.stdout}\nstderr:\n${output.stderr}`));
      }, timeoutMs);
      listeners.add(listener);
      listener();
    });
  }

  return {
    child,
    stdout: () => output.stdout,
    stderr: () => output.stderr,
    waitFor: (stream, pattern, timeoutMs = 15_000) =>
      until(
        () => output[stream].match(pattern) ?? undefined,
        () => new Error(`process exited (${JSON.stringify(exit)}) before ${stream} matched ${pattern}\nstdout:\n${output.stdout}\nstderr:\n${output.stderr}`),
        timeoutMs,
        `${stream} to match ${pattern}`,
      ),
    exited: (timeoutMs = 15_000) =>
      until(
        () => exit,
        () => undefined,
        timeoutMs,
        "the process to exit",
      ),
    kill: () => {
      if (exit === undefined && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

/** The JSON lines of a log (other lines, such as the dev-mode banner, are left out), parsed. */
export function jsonLogLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Waits for the child's JSON log line (stderr) whose `msg` is `message`, whatever the order of its fields, and parses it. */
export async function logLine(spawned: Spawned, message: string, timeoutMs?: number): Promise<Record<string, unknown>> {
  const msg = JSON.stringify(message).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const [line] = await spawned.waitFor("stderr", new RegExp(`^\\{.*"msg":${msg}.*\\}$`, "m"), timeoutMs);
  return JSON.parse(line) as Record<string, unknown>;
}

/** How a command run to its end went. */
export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Children of runToEnd still running, and whether each leads a process group of its own. */
const unfinished = new Map<ChildProcess, boolean>();

function killTree(child: ChildProcess, group: boolean): void {
  try {
    if (group) process.kill(-child.pid!, "SIGKILL");
    else child.kill("SIGKILL");
  } catch {
    // already gone
  }
}

/**
 * Runs a command in the repository root to its end, collecting its output. Past `timeoutMs` it is
 * killed (with `group`, its whole process group: npm → node → servers) and the promise rejects.
 */
export function runToEnd(command: string, args: string[], options: { env: NodeJS.ProcessEnv; timeoutMs: number; group?: boolean }): Promise<Finished> {
  const group = options.group ?? false;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env: options.env, detached: group, stdio: ["ignore", "pipe", "pipe"] });
    unfinished.set(child, group);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      killTree(child, group);
      reject(new Error(`${command} ${args.join(" ")} did not end within ${options.timeoutMs} ms\n${stdout}\n${stderr}`));
    }, options.timeoutMs);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      unfinished.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Kills whatever runToEnd started that has not ended (for `after` hooks). */
export function killUnfinished(): void {
  for (const [child, group] of unfinished) killTree(child, group);
}
