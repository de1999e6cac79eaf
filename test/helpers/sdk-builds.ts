// Builds what the Go and Python SDK tests run: code generated from a fixture
// proto with Debian's protoc, and one Go binary per test run (GOPATH mode,
// Debian's Go packages, a build cache kept in the temp dir across runs).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./child-process.js";

const GO_SDK = "tessera/sdk/go";
const FIXTURE_GO_PACKAGE = "tessera/fixtures/conformancev1";
const FIXTURE_PROTO = "conformance/v1/conformance.proto";
const BUILD_TIMEOUT_MS = 240_000;

/** A temporary directory for one test file's builds; remove it in after(). */
export function buildDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "tessera-sdk-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function protoc(args: string[]): void {
  execFileSync("protoc", ["-I", join(REPO_ROOT, "proto"), "-I", join(REPO_ROOT, "test/fixtures/proto"), "-I", "/usr/include", ...args, FIXTURE_PROTO], {
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 30_000,
  });
}

/** The environment of Go in GOPATH mode over Debian's packages (no module downloads). */
export function goEnv(gopath: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GO111MODULE: "off",
    GOPATH: `${gopath}:/usr/share/gocode`,
    GOCACHE: join(tmpdir(), "tessera-go-build-cache"),
    GOFLAGS: "",
  };
}

/** Builds the Go conformance runner into `dir` and returns its path. */
export function buildGoRunner(dir: string): string {
  const gopath = join(dir, "gopath");
  const src = join(gopath, "src");
  mkdirSync(join(src, "tessera/sdk"), { recursive: true });
  mkdirSync(join(src, "tessera/conformance"), { recursive: true });
  symlinkSync(join(REPO_ROOT, "sdk/go"), join(src, GO_SDK));
  symlinkSync(join(REPO_ROOT, "conformance/runners/go"), join(src, "tessera/conformance/runner"));
  const out = join(src, FIXTURE_GO_PACKAGE);
  mkdirSync(out, { recursive: true });
  const m = `Mtessera/v1/options.proto=${GO_SDK}/tesserav1,M${FIXTURE_PROTO}=${FIXTURE_GO_PACKAGE}`;
  protoc([`--go_out=${out}`, `--go_opt=paths=source_relative,${m}`, `--go-grpc_out=${out}`, `--go-grpc_opt=paths=source_relative,${m}`]);
  // protoc writes conformance/v1/*.go under out: move the package up.
  execFileSync("sh", ["-c", `mv "${out}"/conformance/v1/*.go "${out}" && rm -r "${out}/conformance"`]);
  const binary = join(dir, "go-runner");
  execFileSync("go", ["build", "-o", binary, "tessera/conformance/runner"], {
    cwd: src,
    env: goEnv(gopath),
    stdio: ["ignore", "pipe", "pipe"],
    timeout: BUILD_TIMEOUT_MS,
  });
  return binary;
}

/** Generates the Python fixture code into `dir`; returns the PYTHONPATH of the runner (fixture + SDK). */
export function buildPythonFixture(dir: string): string {
  const out = join(dir, "python");
  mkdirSync(out, { recursive: true });
  const plugin = ["--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin", `--python_out=${out}`, `--grpc_python_out=${out}`];
  protoc(plugin);
  // The vendored health service, rooted at proto/grpc so that its module is health.v1, not grpcio's grpc.*.
  execFileSync("protoc", ["-I", join(REPO_ROOT, "proto/grpc"), ...plugin, "health/v1/health.proto"], { stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
  return `${out}:${join(REPO_ROOT, "sdk/python")}`;
}
