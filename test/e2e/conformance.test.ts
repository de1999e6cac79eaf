// One corpus, every enforcement point: conformance/cases.json run against the
// Node grpc-js interceptor, the Go SDK (grpc-go) and the Python SDK (grpcio),
// each a real server verifying tokens against a real Tessera on loopback.
// Every case must get the decision the corpus expects, in all three.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { create, toBinary, type DescMessage, type DescService } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { validateConfig } from "../../src/config/validate.js";
import { authServerInterceptor, grpcPrincipal } from "../../src/grpc.js";
import { httpJwksFetcher, RemoteKeySet, rulesByPath, TokenVerifier } from "../../src/index.js";
import { MemoryKeyStore } from "../../src/keys/key-store.js";
import { generateSigningKey, type SigningKey } from "../../src/keys/signing-key.js";
import { createTesseraServer, type TesseraServer } from "../../src/server/tessera-server.js";
import { MemoryDenyList } from "../../src/store/memory/deny-list.js";
import { REPO_ROOT } from "../helpers/child-process.js";
import { authorizationOf, call, loadCorpus, meets, mint, type ConformanceCase, type Minted, type Outcome } from "../helpers/conformance.js";
import { buildFixtureRegistry } from "../helpers/proto-registry.js";
import { buildDir, buildGoRunner, buildPythonFixture } from "../helpers/sdk-builds.js";
import { until } from "../helpers/wait.js";

const corpus = loadCorpus();
const registry = buildFixtureRegistry(["conformance/v1/conformance.proto"]);
const service = (name: string) => registry.getService(`tessera.conformance.v1.${name}`) as DescService;
const messages = {
  request: registry.getMessage("tessera.conformance.v1.CallRequest") as DescMessage,
  response: registry.getMessage("tessera.conformance.v1.CallResponse") as DescMessage,
};

interface Runtime {
  name: string;
  address: string;
  /** Whether the runtime follows the token service's revocations (Go and Python: WatchRevocations). */
  revocations: boolean;
  stop(): Promise<void>;
}

let tessera: TesseraServer;
let signingKey: SigningKey;
let denyList: MemoryDenyList;
const build = buildDir();
const children: ChildProcess[] = [];
const runtimes: Runtime[] = [];
const clients = new Map<string, grpc.Client>();

/** A grpc-js server with the Node interceptor: the Node runner. */
async function startNodeRunner(guard: readonly string[]): Promise<Runtime> {
  const verifier = new TokenVerifier({
    issuer: tessera.issuer,
    keys: new RemoteKeySet({ fetch: httpJwksFetcher(`${tessera.httpUrl}/.well-known/jwks.json`) }),
    ...(tessera.revocations ? { revocations: tessera.revocations } : {}),
  });
  await verifier.start();
  const server = new grpc.Server({ interceptors: [authServerInterceptor({ verifier, rules: rulesByPath(guard.map(service)) })] });
  for (const name of ["ConformanceService", "UnprotectedService"]) {
    const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const method of service(name).methods) {
      const streaming = method.methodKind === "server_streaming";
      definition[method.name] = {
        path: `/${service(name).typeName}/${method.name}`,
        requestStream: false,
        responseStream: streaming,
        requestSerialize: (v: Buffer) => v,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (v: Buffer) => v,
        responseDeserialize: (b: Buffer) => b,
      };
      const reply = (call: { metadata: grpc.Metadata }) => {
        const caller = grpcPrincipal(call);
        const response = {
          clientId: caller?.clientId ?? "",
          subject: caller?.subject ?? "",
          scopes: [...(caller?.scopes ?? [])],
          audience: caller?.audience ?? "",
        };
        return Buffer.from(toResponseBytes(response));
      };
      implementation[method.name] = streaming
        ? (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
            call.write(reply(call));
            call.end();
          }
        : (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, reply(call));
    }
    server.addService(definition as grpc.ServiceDefinition, implementation);
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    name: "node (grpc-js)",
    address: `127.0.0.1:${port}`,
    revocations: true,
    stop: async () => {
      verifier.stop();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
  };
}

function toResponseBytes(value: Record<string, unknown>): Uint8Array {
  return toBinary(messages.response, create(messages.response, value));
}

/** Spawns a Go or Python runner; resolves with its address, or with its RULE_ERROR methods. */
function spawnRunner(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ address?: string; ruleError?: string[]; child: ChildProcess }> {
  const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} did not start within 20 s\n${stdout}\n${stderr}`));
    }, 20_000);
    child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    child.stdout!.on("data", (c: Buffer) => {
      stdout += c.toString();
      const listening = /LISTENING (\S+)/.exec(stdout);
      const ruleError = /RULE_ERROR (\S+)/.exec(stdout);
      if (listening || ruleError) {
        clearTimeout(timer);
        resolve({ child, ...(listening ? { address: listening[1] } : {}), ...(ruleError ? { ruleError: (ruleError[1] ?? "").split(",") } : {}) });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (!/LISTENING|RULE_ERROR/.test(stdout)) reject(new Error(`${command} exited with ${code}\n${stdout}\n${stderr}`));
    });
  });
}

let goRunner: string;
let pythonPath: string;

function runnerArgs(guard: readonly string[]): string[] {
  return ["--issuer", tessera.issuer, "--token-service", tessera.grpcAddress, "--guard", guard.join(",")];
}

const startGo = (guard: readonly string[]) =>
  spawnRunner(
    goRunner,
    runnerArgs(guard).map((a) => a.replace(/^--/, "-")),
    process.env,
  );
const startPython = (guard: readonly string[]) =>
  spawnRunner("/usr/bin/python3", [`${REPO_ROOT}conformance/runners/python/runner.py`, ...runnerArgs(guard)], { ...process.env, PYTHONPATH: pythonPath });

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

before(
  async () => {
    signingKey = await generateSigningKey("ES256");
    denyList = new MemoryDenyList();
    const config = validateConfig({ http: { port: 0 }, grpc: { port: 0 }, clients: [] }, {}, () => "");
    tessera = await createTesseraServer({ config, keys: MemoryKeyStore.single(signingKey), denyList });
    goRunner = buildGoRunner(build.dir);
    pythonPath = buildPythonFixture(build.dir);
    runtimes.push(await startNodeRunner(["ConformanceService"]));
    for (const [name, start] of [
      ["go (grpc-go)", startGo],
      ["python (grpcio)", startPython],
    ] as const) {
      const { address, child } = await start(["ConformanceService"]);
      runtimes.push({ name, address: address as string, revocations: false, stop: () => stopChild(child) });
    }
    for (const runtime of runtimes) clients.set(runtime.name, new grpc.Client(runtime.address, grpc.credentials.createInsecure()));
  },
  { timeout: 300_000 },
);

after(async () => {
  for (const client of clients.values()) client.close();
  for (const runtime of runtimes) await runtime.stop();
  await Promise.all(children.map(stopChild));
  await tessera?.stop();
  build.remove();
});

function pathOf(c: ConformanceCase): string {
  return c.path ?? `/${corpus.service}/${c.method}`;
}

async function decide(runtime: Runtime, c: ConformanceCase): Promise<{ outcome: Outcome; minted: Minted | undefined }> {
  const minted = c.token === undefined ? undefined : mint(c.token, signingKey, tessera.issuer, corpus.service);
  if (c.revoke === "token" && minted) await denyList.revoke(tessera.issuer, minted.jti, minted.exp);
  const client = clients.get(runtime.name) as grpc.Client;
  const once = () => call(client, pathOf(c), c.method === "Watch", authorizationOf(c, minted), messages);
  // A revocation reaches a verifier through its feed: wait for it (bounded), as the revocation tests do.
  const outcome = c.revoke
    ? await until(
        async () => {
          const o = await once();
          return meets(o, c, minted) ? o : undefined;
        },
        `${runtime.name} honours the revocation`,
        5000,
      ).catch(() => once())
    : await once();
  return { outcome, minted };
}

describe("conformance corpus", () => {
  test(`the corpus has at least 150 cases (${corpus.cases.length}), each named once`, () => {
    assert.ok(corpus.cases.length >= 150);
    assert.equal(new Set(corpus.cases.map((c) => c.name)).size, corpus.cases.length);
  });

  test("every runtime decides every case as the corpus expects: zero divergence", async () => {
    const divergent: string[] = [];
    const pending: string[] = [];
    for (const c of corpus.cases) {
      for (const runtime of runtimes) {
        if (c.revoke === "client" || (c.revoke && !runtime.revocations)) {
          pending.push(`${runtime.name}: ${c.name}`);
          continue;
        }
        const { outcome, minted } = await decide(runtime, c);
        if (!meets(outcome, c, minted)) divergent.push(`${runtime.name}: ${c.name}: got ${JSON.stringify(outcome)}, expected ${JSON.stringify(c.expect)}`);
      }
    }
    assert.deepEqual(divergent, []);
    if (pending.length > 0) console.log(`conformance: ${pending.length} revocation decisions wait for WatchRevocations:\n  ${pending.join("\n  ")}`);
  });

  for (const s of corpus.startup) {
    test(`startup: ${s.name}`, async () => {
      for (const [name, start] of [
        ["go", startGo],
        ["python", startPython],
      ] as const) {
        const started = await start(s.guard);
        await stopChild(started.child);
        if (s.expect.starts) assert.ok(started.address, `${name} starts`);
        else assert.deepEqual(started.ruleError, s.expect.methods, `${name} refuses to start`);
      }
      let refused: string[] | undefined;
      try {
        rulesByPath(s.guard.map(service));
      } catch (err) {
        refused = (err as { methods?: string[] }).methods;
      }
      if (s.expect.starts) assert.equal(refused, undefined, "node starts");
      else assert.deepEqual(refused, s.expect.methods, "node refuses to start");
    });
  }
});
