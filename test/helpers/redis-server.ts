// Real redis-server processes for the tests: standalone (optionally with AOF)
// and a 3-master Cluster, on free loopback ports, in temporary directories.
// Never the machine's Redis on 6379.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts } from "./free-ports.js";
import { until } from "./wait.js";

const REDIS_SERVER = "/usr/bin/redis-server";
const REDIS_CLI = "/usr/bin/redis-cli";

/** Runs redis-cli against a port; resolves with its trimmed output (rejects on a non-zero exit). */
export function redisCli(port: number, args: readonly string[], timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(REDIS_CLI, ["-h", "127.0.0.1", "-p", String(port), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out.trim());
      else reject(new Error(`redis-cli ${args.join(" ")} exited with ${code}: ${out}`));
    });
  });
}

export interface RedisServerOptions {
  /** AOF persistence (appendonly yes) with this fsync policy; default: no persistence at all. */
  appendfsync?: "always" | "everysec";
  /** Cluster mode: a node of a cluster, with its cluster bus on this port. */
  clusterBusPort?: number;
  /** The port; default a free one. */
  port?: number;
  /** Further redis-server arguments, e.g. ["--replicaof", "127.0.0.1", "6390"]. */
  extraArgs?: readonly string[];
}

/** A redis-server process that can be stopped, killed and started again on the same port and data directory. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  readonly running: boolean;
  cli(...args: string[]): Promise<string>;
  /** Starts it again (same port, same data directory); resolves once it accepts connections. */
  start(): Promise<void>;
  /** SIGTERM (Redis shuts down cleanly, fsyncing the AOF); resolves once it exited. */
  stop(): Promise<void>;
  /** SIGKILL: no shutdown at all; resolves once it exited. */
  kill9(): Promise<void>;
  /** Stops it and removes its data directory. */
  destroy(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Starts a standalone redis-server (or a cluster node) on 127.0.0.1. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePorts(1))[0]!;
  const dir = mkdtempSync(join(tmpdir(), "tessera-redis-"));
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir, "--daemonize", "no", "--logfile", "", "--protected-mode", "yes"];
  if (options.appendfsync !== undefined) args.push("--appendonly", "yes", "--appendfsync", options.appendfsync);
  else args.push("--appendonly", "no");
  if (options.clusterBusPort !== undefined) {
    args.push(
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      "nodes.conf",
      "--cluster-node-timeout",
      "2000",
      "--cluster-port",
      String(options.clusterBusPort),
    );
  }
  if (options.extraArgs !== undefined) args.push(...options.extraArgs);
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    if (child !== undefined) throw new Error("redis-server is already running");
    const proc = spawn(REDIS_SERVER, args, { stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    running.add(proc);
    proc.once("exit", () => {
      running.delete(proc);
      if (child === proc) child = undefined;
    });
    let output = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server on ${port} did not start:\n${output}`)), 15_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("Ready to accept connections")) {
          clearTimeout(timer);
          proc.stdout!.off("data", onData);
          proc.stdout!.resume();
          resolve();
        }
      };
      proc.stdout!.on("data", onData);
      proc.stderr!.on("data", (c: Buffer) => (output += c.toString()));
      proc.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server on ${port} exited (${code}) before it was ready:\n${output}`));
      });
    });
  };

  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (proc === undefined) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill(signal);
    await exited;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get running() {
      return child !== undefined;
    },
    cli: (...cliArgs) => redisCli(port, cliArgs),
    start,
    stop: () => terminate("SIGTERM"),
    kill9: () => terminate("SIGKILL"),
    destroy: async () => {
      await terminate("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Redis Cluster of three masters (no replicas) on 127.0.0.1. */
export interface RedisCluster {
  readonly nodes: readonly RedisServer[];
  /** Startup nodes for ioredis' Cluster. */
  readonly startupNodes: readonly { host: string; port: number }[];
  destroy(): Promise<void>;
}

/** Starts three cluster-enabled redis-servers, joins them with `redis-cli --cluster create`, waits for cluster_state:ok. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const ports = await freePorts(6);
  const nodes = await Promise.all([0, 1, 2].map((i) => startRedisServer({ port: ports[i]!, clusterBusPort: ports[i + 3]! })));
  try {
    await redisCli(nodes[0]!.port, ["--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`), "--cluster-replicas", "0", "--cluster-yes"], 30_000);
    await until(
      async () => {
        const states = await Promise.all(nodes.map((n) => n.cli("CLUSTER", "INFO")));
        return states.every((s) => s.includes("cluster_state:ok")) ? true : undefined;
      },
      "cluster_state:ok on every node",
      15_000,
      100,
    );
  } catch (err) {
    await Promise.all(nodes.map((n) => n.destroy()));
    throw err;
  }
  return {
    nodes,
    startupNodes: nodes.map((n) => ({ host: "127.0.0.1", port: n.port })),
    destroy: async () => {
      await Promise.all(nodes.map((n) => n.destroy()));
    },
  };
}

/** Kills the connections named `name` (CLIENT SETNAME / ioredis connectionName) on a server; resolves with how many. */
export async function killClientsNamed(port: number, name: string): Promise<number> {
  const list = await redisCli(port, ["CLIENT", "LIST"]);
  const ids = list
    .split("\n")
    .filter((line) => line.split(" ").includes(`name=${name}`))
    .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined);
  for (const id of ids) await redisCli(port, ["CLIENT", "KILL", "ID", id]);
  return ids.length;
}
