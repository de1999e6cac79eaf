// Servers under test, each in its own Node process on 127.0.0.1 (port 0:
// the kernel picks a free one). A bench process prints one JSON line with
// its pid and addresses on stdout when it is ready, and exits on SIGTERM.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A started bench process and what it announced. */
export interface BenchProcess<T> {
  readonly name: string;
  readonly pid: number;
  readonly info: T;
  readonly child: ChildProcess;
  /** Its stderr so far (the last 16 KiB). */
  stderr(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export interface StartOptions {
  env?: Record<string, string>;
  /** Node flags, e.g. ["--cpu-prof", "--cpu-prof-dir", dir]. */
  nodeFlags?: readonly string[];
  /** An IPC channel (process.send / child.on("message")). */
  ipc?: boolean;
  /** Pin the process to these CPUs (taskset -c), e.g. "1". */
  cpus?: string;
  timeoutMs?: number;
}

/** Where compiled servers are (compileBenchServers), or undefined: the TypeScript through tsx. */
let compiledServers: string | undefined;

/** Runs the servers started from now on from `dir` (the output of compileBenchServers), or from source when undefined. */
export function useCompiledServers(dir: string | undefined): void {
  compiledServers = dir;
}

/**
 * Starts bench/servers/<script> (`node <compiled>/bench/servers/<script>.js`, or `node --import tsx
 * bench/servers/<script>` without compiled servers) and waits for its JSON line.
 */
export async function startBenchProcess<T extends { pid: number }>(name: string, script: string, options: StartOptions = {}): Promise<BenchProcess<T>> {
  const entry =
    compiledServers === undefined ? ["--import", "tsx", `bench/servers/${script}`] : [`${compiledServers}/bench/servers/${script.replace(/\.ts$/, ".js")}`];
  const nodeArgs = [...(options.nodeFlags ?? []), ...entry];
  const [command, args] = options.cpus !== undefined ? ["taskset", ["-c", options.cpus, process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe", ...(options.ipc ? (["ipc"] as const) : [])],
  });
  running.add(child);
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-16 * 1024);
  });
  let exited = child.exitCode !== null;
  child.once("exit", () => {
    exited = true;
    running.delete(child);
  });
  const timeoutMs = options.timeoutMs ?? 30_000;
  const info = await new Promise<T>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => fail(new Error(`${name} did not start within ${timeoutMs} ms`)), timeoutMs);
    const onExit = (code: number | null) => fail(new Error(`${name} exited (${code}) before it was ready`));
    function fail(err: Error) {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${err.message}\n${stderr}`));
    }
    child.once("exit", onExit);
    lines.once("line", (line) => {
      clearTimeout(timer);
      child.off("exit", onExit);
      try {
        resolve(JSON.parse(line) as T);
      } catch {
        fail(new Error(`${name} printed no JSON line: ${line}`));
      }
    });
  });
  child.stdout!.resume();
  return {
    name,
    pid: info.pid,
    info,
    child,
    stderr: () => stderr,
    stop: (graceMs = 5000) =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}

/** Serves until SIGTERM, then runs `stop` and exits (so that --cpu-prof writes its profile). */
export function serveUntilTerminated(stop: () => Promise<void>): void {
  process.once("SIGTERM", () => {
    const hard = setTimeout(() => process.exit(0), 3000);
    hard.unref();
    void stop()
      .catch(() => {})
      .finally(() => process.exit(0));
  });
}

/** Announces readiness: the one JSON line the parent waits for. */
export function announce(info: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ pid: process.pid, ...info })}\n`);
}
