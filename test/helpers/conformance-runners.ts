// The conformance runners of every runtime, on loopback: the Node grpc-js
// interceptor in this process, and the Go and Python SDK runners as children
// (conformance/runners). One Tessera (in this process) issues and publishes the keys.
import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { create, type DescMessage, type DescService, toBinary } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { authContextValues, authInterceptor, principalKey, protect } from "../../src/connect.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { validateConfig } from "../../src/config/validate.js";
import { authServerInterceptor, grpcPrincipal } from "../../src/grpc.js";
import { httpJwksFetcher, RemoteKeySet, rulesByPath, TokenVerifier } from "../../src/index.js";
import { MemoryKeyStore } from "../../src/keys/key-store.js";
import { generateSigningKey, type SigningKey } from "../../src/keys/signing-key.js";
import { hashClientSecret } from "../../src/registry/client-secret.js";
import { createHttpListener } from "../../src/server/http-listener.js";
import type { TesseraServer } from "../../src/server/tessera-server.js";
import { startCapturedServer } from "./start-server.js";
import { recordSecrets } from "./log-capture.js";
import { MemoryDenyList } from "../../src/store/memory/deny-list.js";
import type { Principal } from "../../src/verifier/principal.js";
import { REPO_ROOT } from "./child-process.js";
import { buildFixtureRegistry } from "./proto-registry.js";
import { buildDir, buildGoRunner, buildPythonFixture } from "./sdk-builds.js";

export const CONFORMANCE_SERVICE = "tessera.conformance.v1.ConformanceService";
/** The client the SDK clients call as, with grants for every scope of the conformance rules. */
export const CALLER = { id: "conformance-caller", secret: "conformance-caller-secret-0123456789abcdef0123456789" };
/** The same grants for a client that authenticates with private_key_jwt (its key is made per world). */
export const KEYED_CALLER = { id: "conformance-keyed", kid: "conformance-keyed-key" };
/** The resource server the Go and Python runners watch revocations and keys as. */
export const VERIFIER = { id: "conformance-verifier", secret: "conformance-verifier-secret-0123456789abcdef01234567" };

const registry = buildFixtureRegistry(["conformance/v1/conformance.proto"]);
export const fixtureService = (name: string) => registry.getService(`tessera.conformance.v1.${name}`) as DescService;
export const fixtureMessages = {
  request: registry.getMessage("tessera.conformance.v1.CallRequest") as DescMessage,
  response: registry.getMessage("tessera.conformance.v1.CallResponse") as DescMessage,
};

/** A server of the conformance service with one runtime's interceptor. */
export interface Runtime {
  name: string;
  address: string;
  /** Whether the runtime follows the token service's revocations. */
  revocations: boolean;
  stop(): Promise<void>;
}

/** What a runner started with: its address, or the methods its interceptor refused at start. */
export interface Started {
  address?: string;
  ruleError?: string[];
  child: ChildProcess;
}

/** Tessera, the SDK builds and the runners of one test file. Call stop() in after(). */
export class ConformanceWorld {
  tessera!: TesseraServer;
  signingKey!: SigningKey;
  readonly denyList = new MemoryDenyList();
  /** jti of the last token each Node runner's handler saw. */
  lastJti: string | undefined;
  readonly #build = buildDir();
  readonly #children: ChildProcess[] = [];
  readonly #stops: (() => Promise<void>)[] = [];
  #goRunner = "";
  #pythonPath = "";

  /** Starts Tessera and builds the Go runner and the Python fixture code (once per test file). */
  async start(): Promise<void> {
    this.signingKey = await generateSigningKey("ES256");
    const clientKey = generateKeyPairSync("ec", { namedCurve: "P-256" });
    writeFileSync(this.#keyFile, clientKey.privateKey.export({ format: "pem", type: "pkcs8" }));
    const publicJwk = { ...clientKey.publicKey.export({ format: "jwk" }), kid: KEYED_CALLER.kid, alg: "ES256" };
    const scopes = ["conf.read", "conf.write", "conf.base", "conf.a", "conf.default", "conf.x"];
    const config = validateConfig(
      {
        http: { port: 0 },
        grpc: { port: 0 },
        metrics: { enabled: false },
        audit: { enabled: false },
        // Heartbeats well inside the runners' staleness bound (2 s in the stale-feed test): a quiet feed is not a stale one.
        watch: { heartbeatMs: 500 },
        clients: [
          {
            id: CALLER.id,
            authMethod: "client_secret_post",
            secretHashes: [hashClientSecret(CALLER.secret)],
            grants: [
              { audience: CONFORMANCE_SERVICE, scopes },
              { audience: "https://conformance.example.com", scopes: ["conf.read"] },
            ],
          },
          {
            id: KEYED_CALLER.id,
            authMethod: "private_key_jwt",
            jwks: { keys: [publicJwk] },
            grants: [{ audience: CONFORMANCE_SERVICE, scopes }],
          },
          {
            id: VERIFIER.id,
            authMethod: "client_secret_post",
            secretHashes: [hashClientSecret(VERIFIER.secret)],
            audiences: [CONFORMANCE_SERVICE],
            grants: [],
          },
        ],
      },
      {},
      () => "",
    );
    recordSecrets(CALLER.secret, VERIFIER.secret);
    this.tessera = await startCapturedServer({ config, keys: MemoryKeyStore.single(this.signingKey), denyList: this.denyList });
    this.#stops.push(() => this.stopTessera());
    this.#goRunner = buildGoRunner(this.#build.dir);
    this.#pythonPath = buildPythonFixture(this.#build.dir);
  }

  #tesseraStopped = false;

  /** Stops Tessera (once): its watchers' streams break. */
  async stopTessera(): Promise<void> {
    if (this.#tesseraStopped) return;
    this.#tesseraStopped = true;
    await this.tessera.stop();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#children.map(stopChild));
    for (const stop of this.#stops.reverse()) await stop();
    this.#build.remove();
  }

  #serverArgs(guard: readonly string[], revocations: RevocationOptions | boolean): string[] {
    const args = ["--issuer", this.tessera.issuer, "--token-service", this.tessera.grpcAddress, "--guard", guard.join(",")];
    if (revocations === false) return args;
    const stale = revocations === true || revocations.staleAfterMs === undefined ? [] : ["--stale-after-ms", String(revocations.staleAfterMs)];
    return [...args, "--revocations", "--client-id", VERIFIER.id, "--client-secret", VERIFIER.secret, ...stale];
  }

  get #keyFile(): string {
    return join(this.#build.dir, "keyed-client.pem");
  }

  #clientArgs(target: string, auth: ClientAuthMethod): string[] {
    const args = ["--call", target, "--token-service", this.tessera.grpcAddress];
    if (auth === "client_secret_post") return [...args, "--client-id", CALLER.id, "--client-secret", CALLER.secret];
    return [...args, "--client-id", KEYED_CALLER.id, "--issuer", this.tessera.issuer, "--key-file", this.#keyFile, "--key-id", KEYED_CALLER.kid];
  }

  /** The Go runner serving, with the Go SDK's interceptor over the given services; with `revocations`, following WatchRevocations and WatchKeys. */
  startGo(guard: readonly string[], revocations: RevocationOptions | boolean = false): Promise<Started> {
    return this.#spawnServer(this.#goRunner, goFlags(this.#serverArgs(guard, revocations)), process.env);
  }

  /** The Python runner serving, with the Python SDK's interceptor over the given services; with `revocations`, following the streams. */
  startPython(guard: readonly string[], revocations: RevocationOptions | boolean = false): Promise<Started> {
    const runner = `${REPO_ROOT}conformance/runners/python/runner.py`;
    return this.#spawnServer("/usr/bin/python3", [runner, ...this.#serverArgs(guard, revocations)], this.#pythonEnv());
  }

  /** A Go or Python SDK client of `target`, driven line by line. */
  client(language: "go" | "python", target: string, auth: ClientAuthMethod = "client_secret_post"): SdkClient {
    const child =
      language === "go"
        ? spawn(this.#goRunner, goFlags(this.#clientArgs(target, auth)), { cwd: REPO_ROOT, stdio: ["pipe", "pipe", "pipe"] })
        : spawn("/usr/bin/python3", [`${REPO_ROOT}conformance/runners/python/client.py`, ...this.#clientArgs(target, auth)], {
            cwd: REPO_ROOT,
            env: this.#pythonEnv(),
            stdio: ["pipe", "pipe", "pipe"],
          });
    this.#children.push(child);
    return new SdkClient(child);
  }

  #pythonEnv(): NodeJS.ProcessEnv {
    return { ...process.env, PYTHONPATH: this.#pythonPath };
  }

  #spawnServer(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Started> {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    this.#children.push(child);
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

  /** Every runtime serving the conformance service: Node (grpc-js and Connect), Go (grpc-go), Python (grpcio). */
  async startRuntimes(): Promise<Runtime[]> {
    const runtimes = [await this.startNode(["ConformanceService"]), await this.startNodeConnect()];
    for (const [name, start] of [
      ["go (grpc-go)", (g: readonly string[]) => this.startGo(g, true)],
      ["python (grpcio)", (g: readonly string[]) => this.startPython(g, true)],
    ] as const) {
      const { address, child } = await start(["ConformanceService"]);
      runtimes.push({ name, address: address as string, revocations: true, stop: () => stopChild(child) });
    }
    return runtimes;
  }

  /** A Node verifier following this Tessera's keys and revocations, stopped with the world. */
  async #nodeVerifier(): Promise<TokenVerifier> {
    const { tessera } = this;
    const verifier = new TokenVerifier({
      issuer: tessera.issuer,
      keys: new RemoteKeySet({ fetch: httpJwksFetcher(`${tessera.httpUrl}/.well-known/jwks.json`) }),
      ...(tessera.revocations ? { revocations: tessera.revocations } : {}),
    });
    await verifier.start();
    this.#stops.push(async () => verifier.stop());
    return verifier;
  }

  /** What a handler answers: the caller it saw (empty in public methods). */
  #echo(caller: Principal | undefined): Record<string, unknown> {
    if (caller) this.lastJti = caller.claims.jti;
    return {
      clientId: caller?.clientId ?? "",
      subject: caller?.subject ?? "",
      scopes: [...(caller?.scopes ?? [])],
      audience: caller?.audience ?? "",
      jti: caller?.claims.jti ?? "",
    };
  }

  /**
   * A connect-node server with the Connect interceptor (protect()), serving gRPC, Connect and gRPC-Web;
   * UnprotectedService is served with the interceptor but without protect(), so its path has no rule.
   */
  async startNodeConnect(): Promise<Runtime> {
    const verifier = await this.#nodeVerifier();
    type Context = { values: { get(key: typeof principalKey): Principal | undefined } };
    const echo = (ctx: Context) => this.#echo(ctx.values.get(principalKey));
    const implementation = (name: string) => {
      const impl: Record<string, unknown> = {};
      for (const method of fixtureService(name).methods) {
        impl[method.localName] =
          method.methodKind === "server_streaming"
            ? async function* (_req: unknown, ctx: Context & { signal: AbortSignal }) {
                yield echo(ctx);
                if (method.name !== "Follow") return;
                await new Promise<void>((resolve) => {
                  const timer = setTimeout(resolve, 15_000);
                  ctx.signal.addEventListener("abort", () => {
                    clearTimeout(timer);
                    resolve();
                  });
                });
              }
            : (_req: unknown, ctx: Context) => echo(ctx);
      }
      return impl as ServiceImpl<DescService>;
    };
    const listener = createHttpListener(
      connectNodeAdapter({
        routes: (router) => {
          protect(verifier, (r) => r.service(fixtureService("ConformanceService"), implementation("ConformanceService")))(router);
          router.service(fixtureService("UnprotectedService"), implementation("UnprotectedService"), { interceptors: [authInterceptor(verifier)] });
          // Allow-listed without a rule: the interceptor lets it through.
          router.service(Health, { check: () => ({}), watch: async function* () {} }, { interceptors: [authInterceptor(verifier)] });
        },
        contextValues: (req) => authContextValues(req),
      }),
    );
    const address = await listener.listen("127.0.0.1", 0);
    this.#stops.push(() => listener.close());
    return { name: "node (connect)", address: `127.0.0.1:${address.port}`, revocations: true, stop: async () => {} };
  }

  /** A grpc-js server with the Node interceptor: the Node runner. */
  async startNode(guard: readonly string[]): Promise<Runtime> {
    const verifier = await this.#nodeVerifier();
    const server = new grpc.Server({ interceptors: [authServerInterceptor({ verifier, rules: rulesByPath(guard.map(fixtureService)) })] });
    const reply = (call: { metadata: grpc.Metadata }) =>
      Buffer.from(toBinary(fixtureMessages.response, create(fixtureMessages.response, this.#echo(grpcPrincipal(call)))));
    for (const name of ["ConformanceService", "UnprotectedService"]) {
      const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
      const implementation: grpc.UntypedServiceImplementation = {};
      for (const method of fixtureService(name).methods) {
        const streaming = method.methodKind === "server_streaming";
        definition[method.name] = {
          path: `/${fixtureService(name).typeName}/${method.name}`,
          requestStream: false,
          responseStream: streaming,
          requestSerialize: (v: Buffer) => v,
          requestDeserialize: (b: Buffer) => b,
          responseSerialize: (v: Buffer) => v,
          responseDeserialize: (b: Buffer) => b,
        };
        implementation[method.name] = streaming
          ? (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
              call.write(reply(call));
              if (method.name !== "Follow") {
                call.end();
                return;
              }
              const timer = setTimeout(() => call.end(), 15_000);
              call.on("cancelled", () => clearTimeout(timer));
              call.on("finish", () => clearTimeout(timer));
            }
          : (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, reply(call));
      }
      server.addService(definition as grpc.ServiceDefinition, implementation);
    }
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    // grpc.health.v1.Health, allow-listed: an empty HealthCheckResponse, no rule given to the interceptor.
    server.addService(
      {
        Check: {
          path: "/grpc.health.v1.Health/Check",
          requestStream: false,
          responseStream: false,
          requestSerialize: (v: Buffer) => v,
          requestDeserialize: (b: Buffer) => b,
          responseSerialize: (v: Buffer) => v,
          responseDeserialize: (b: Buffer) => b,
        },
      } as grpc.ServiceDefinition,
      { Check: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.alloc(0)) },
    );
    this.#stops.push(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
    return { name: "node (grpc-js)", address: `127.0.0.1:${port}`, revocations: true, stop: async () => {} };
  }
}

/** Go's flag package takes -name. */
function goFlags(args: string[]): string[] {
  return args.map((a) => a.replace(/^--/, "-"));
}

export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

/** How a Go or Python runner follows revocations: its staleness bound (default 30 s). */
export interface RevocationOptions {
  staleAfterMs?: number;
}

/** How an SDK client authenticates to Tessera. */
export type ClientAuthMethod = "client_secret_post" | "private_key_jwt";

/** One SDK client command's result. */
export interface ClientResult {
  method: string;
  code: string;
  error?: string;
  clientId?: string;
  scopes?: string[] | null;
  /** The jti of the token the server saw. */
  jti?: string;
  /** Tokens the client's token source has fetched so far. */
  fetches: number;
  calls: number;
}

/** A Go or Python SDK client process: one command in, one JSON result out. */
export class SdkClient {
  readonly #child: ChildProcess;
  #buffer = "";
  #stderr = "";
  #waiting: ((line: string) => void)[] = [];

  constructor(child: ChildProcess) {
    this.#child = child;
    child.stderr!.on("data", (c: Buffer) => (this.#stderr += c.toString()));
    child.stdout!.on("data", (c: Buffer) => {
      this.#buffer += c.toString();
      let newline = this.#buffer.indexOf("\n");
      while (newline >= 0) {
        const line = this.#buffer.slice(0, newline);
        this.#buffer = this.#buffer.slice(newline + 1);
        this.#waiting.shift()?.(line);
        newline = this.#buffer.indexOf("\n");
      }
    });
  }

  /** Sends a command ("AllOf", "PARALLEL AllOf 50", "PERRPC AllOf" / "PLUGIN AllOf"); resolves with its result within 20 s. */
  run(command: string): Promise<ClientResult> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${command} within 20 s\n${this.#stderr}`)), 20_000);
      this.#waiting.push((line) => {
        clearTimeout(timer);
        resolve(JSON.parse(line) as ClientResult);
      });
      this.#child.stdin!.write(`${command}\n`);
    });
  }
}
