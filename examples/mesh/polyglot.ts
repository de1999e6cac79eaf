// The example mesh's Go and Python services, next to the Node ones (mesh.ts):
// RemindersService in Go (grpc-go with sdk/go, examples/mesh/reminders) calls
// the Node CalendarService, ReportsService in Python (grpcio with sdk/python,
// examples/mesh/reports) calls the Node FilesService, each protected by the
// scopes its proto declares and following Tessera's WatchRevocations and
// WatchKeys as its own client. The Node Tasks service calls both with its
// token interceptor.
//
// Their code is generated from the protos with Debian's protoc and plugins, and
// the Go service built in GOPATH mode over Debian's Go packages (as the SDK
// tests build theirs): once per version of the sources, cached in
// $TMPDIR/tessera-mesh-polyglot/<hash>. Nothing generated is committed.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, type Client } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import { tokenInterceptor } from "tessera/connect";
import { RemindersService } from "../gen/example/reminders/v1/reminders_pb.js";
import { ReportsService } from "../gen/example/reports/v1/reports_pb.js";
import type { Mesh } from "./mesh.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
/** Everything the build's output depends on: a change to any of them builds again. */
const SOURCES = ["examples/mesh/reminders", "examples/proto/example", "proto/tessera/v1", "sdk/go"];
const CACHE = join(tmpdir(), "tessera-mesh-polyglot");
const BUILD_TIMEOUT_MS = 300_000;
const START_TIMEOUT_MS = 20_000;

/** The built services: the Go binary, and the PYTHONPATH of the Python service (its generated code and sdk/python). */
export interface PolyglotBuild {
  readonly goBinary: string;
  readonly pythonPath: string;
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? files(path) : [path];
  });
}

function sourceHash(): string {
  const hash = createHash("sha256").update(process.arch);
  for (const file of SOURCES.flatMap((dir) => files(join(REPO, dir))).sort()) {
    hash.update(relative(REPO, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): void {
  execFileSync(command, args, { cwd: REPO, ...options, stdio: ["ignore", "ignore", "inherit"], timeout: BUILD_TIMEOUT_MS });
}

const PROTOC_INCLUDES = ["-I", "proto", "-I", "examples/proto", "-I", "/usr/include"];

/** The Go service's generated code (calendar and reminders) and binary, built in a GOPATH under `dir`. */
function buildGo(dir: string): void {
  const src = join(dir, "gopath/src");
  mkdirSync(join(src, "tessera/sdk"), { recursive: true });
  mkdirSync(join(src, "tessera/examples/gen"), { recursive: true });
  symlinkSync(join(REPO, "sdk/go"), join(src, "tessera/sdk/go"));
  symlinkSync(join(REPO, "examples/mesh/reminders"), join(src, "tessera/examples/reminders"));
  const m = [
    "Mtessera/v1/options.proto=tessera/sdk/go/tesserav1",
    "Mexample/calendar/v1/calendar.proto=tessera/examples/gen/example/calendar/v1;calendarv1",
    "Mexample/reminders/v1/reminders.proto=tessera/examples/gen/example/reminders/v1;remindersv1",
  ].join(",");
  const out = join(src, "tessera/examples/gen");
  run("protoc", [
    ...PROTOC_INCLUDES,
    `--go_out=${out}`,
    `--go_opt=paths=source_relative,${m}`,
    `--go-grpc_out=${out}`,
    `--go-grpc_opt=paths=source_relative,${m}`,
    "example/calendar/v1/calendar.proto",
    "example/reminders/v1/reminders.proto",
  ]);
  const env = {
    ...process.env,
    GO111MODULE: "off",
    GOPATH: `${join(dir, "gopath")}:/usr/share/gocode`,
    GOCACHE: join(tmpdir(), "tessera-go-build-cache"), // the SDK tests' cache: grpc-go compiled once for both
    GOFLAGS: "",
  };
  run("go", ["build", "-o", join(dir, "reminders"), "tessera/examples/reminders"], { cwd: src, env });
  rmSync(join(dir, "gopath"), { recursive: true, force: true });
}

/** The Python service's generated code (files and reports); `tessera.v1` comes with sdk/python. */
function buildPython(dir: string): void {
  const out = join(dir, "python");
  mkdirSync(out);
  run("protoc", [
    "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
    ...PROTOC_INCLUDES,
    `--python_out=${out}`,
    `--grpc_python_out=${out}`,
    "example/files/v1/files.proto",
    "example/reports/v1/reports.proto",
  ]);
}

/** Generates and builds the Go and Python services, unless this version of their sources was built before. */
export function buildPolyglot(): PolyglotBuild {
  const hash = sourceHash();
  const dir = join(CACHE, hash);
  const build = { goBinary: join(dir, "reminders"), pythonPath: `${join(dir, "python")}:${join(REPO, "sdk/python")}` };
  if (existsSync(dir)) return build;
  mkdirSync(CACHE, { recursive: true });
  console.error(`Building the mesh's Go and Python services (once; cached in ${dir})...`);
  const building = mkdtempSync(join(CACHE, "building-"));
  try {
    buildGo(building);
    buildPython(building);
    renameSync(building, dir);
  } catch (err) {
    rmSync(building, { recursive: true, force: true });
    if (existsSync(dir)) return build; // another demo built the same version meanwhile
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(
      `building the Go and Python services failed (they need Debian's Go, protoc and gRPC packages: bash scripts/ensure-test-deps.sh, which npm test runs first): ${why}`,
    );
  }
  // Builds of earlier versions of the sources: no longer used.
  for (const old of readdirSync(CACHE)) {
    const path = join(CACHE, old);
    if (old !== hash && !old.startsWith("building-") && statSync(path).isDirectory()) rmSync(path, { recursive: true, force: true });
  }
  return build;
}

/** A child service: started, it printed "LISTENING host:port"; it exits when its stdin closes. */
interface Started {
  readonly address: string;
  readonly child: ChildProcess;
}

function startService(name: string, command: string, args: string[], env: Record<string, string>): Promise<Started> {
  const child = spawn(command, args, { cwd: REPO, env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${name} did not start within ${START_TIMEOUT_MS} ms\n${stderr}`));
    }, START_TIMEOUT_MS);
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      process.stderr.write(`${name}: ${chunk}`);
    });
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const listening = /LISTENING (\S+)\n/.exec(stdout);
      if (listening) {
        clearTimeout(timer);
        resolve({ address: listening[1]!, child });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before serving\n${stderr}`));
    });
  });
}

/** Closes the child's stdin (it stops), and kills it if it is still there after 2 s. */
async function stopService(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.stdin!.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
  await exited;
  clearTimeout(timer);
}

export interface Polyglot {
  /** RemindersService in Go: 127.0.0.1:port (gRPC). */
  readonly remindersAddress: string;
  /** ReportsService in Python: 127.0.0.1:port (gRPC). */
  readonly reportsAddress: string;
  /** Tasks' clients of both: its token interceptor attaches Tasks' tokens. */
  readonly tasks: { readonly reminders: Client<typeof RemindersService>; readonly reports: Client<typeof ReportsService> };
  /** Clients without a token interceptor: the caller sends the token it chooses. */
  readonly bare: { readonly reminders: Client<typeof RemindersService>; readonly reports: Client<typeof ReportsService> };
  stop(): Promise<void>;
}

function secretOf(mesh: Mesh, clientId: string): string {
  const credential = mesh.credentials.get(clientId);
  if (credential === undefined || !("secret" in credential)) throw new Error(`no client with a secret: ${clientId}`);
  return credential.secret;
}

/** Starts the Go and Python services of `mesh` (built by buildPolyglot), each as its own client of Tessera. */
export async function startPolyglot(mesh: Mesh, build: PolyglotBuild): Promise<Polyglot> {
  const tessera = { TESSERA_GRPC: mesh.tessera.grpcAddress, TESSERA_ISSUER: mesh.tessera.issuer };
  const stops: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const step of stops.splice(0).reverse()) await step();
  };
  try {
    const started = await Promise.allSettled([
      startService("reminders (Go)", build.goBinary, [], {
        ...tessera,
        CALENDAR: new URL(mesh.calendarUrl).host,
        CLIENT_ID: "reminders",
        CLIENT_SECRET: secretOf(mesh, "reminders"),
      }),
      startService("reports (Python)", "/usr/bin/python3", [join(REPO, "examples/mesh/reports/reports_service.py")], {
        ...tessera,
        PYTHONPATH: build.pythonPath,
        FILES: mesh.filesAddress,
        CLIENT_ID: "reports",
        CLIENT_SECRET: secretOf(mesh, "reports"),
      }),
    ]);
    for (const s of started) if (s.status === "fulfilled") stops.push(() => stopService(s.value.child));
    const [reminders, reports] = started.map((s) => {
      if (s.status === "rejected") throw s.reason;
      return s.value;
    }) as [Started, Started];

    const transport = (address: string, withTokens: boolean) => {
      const sessionManager = new Http2SessionManager(`http://${address}`);
      stops.push(() => sessionManager.abort());
      const interceptors = withTokens ? [tokenInterceptor({ tokens: mesh.tasks.tokens })] : [];
      return createGrpcTransport({ baseUrl: `http://${address}`, sessionManager, defaultTimeoutMs: 5000, interceptors });
    };
    return {
      remindersAddress: reminders.address,
      reportsAddress: reports.address,
      tasks: {
        reminders: createClient(RemindersService, transport(reminders.address, true)),
        reports: createClient(ReportsService, transport(reports.address, true)),
      },
      bare: {
        reminders: createClient(RemindersService, transport(reminders.address, false)),
        reports: createClient(ReportsService, transport(reports.address, false)),
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
