// The bench's echo service, described at run time: bench/echo/ is compiled
// with the buf CLI of devDependencies (no generated code is committed for it),
// and its descriptors are read with protobuf-es. The bench compiles it once
// and hands the descriptor set to its processes (BENCH_ECHO_DESCRIPTORS).
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFileRegistry, fromBinary, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { ECHO_SERVICE } from "./bench-clients.js";
import { REPO_ROOT } from "./processes.js";

/** Compiles bench/echo with proto/ (for tessera/v1/options.proto) into a descriptor set file; returns its path. */
export function compileEchoProto(outFile: string): string {
  const work = mkdtempSync(join(tmpdir(), "tessera-bench-buf-"));
  try {
    cpSync(join(REPO_ROOT, "proto"), join(work, "proto"), { recursive: true });
    cpSync(join(REPO_ROOT, "bench/echo"), join(work, "echo"), { recursive: true });
    writeFileSync(join(work, "buf.yaml"), "version: v2\nmodules:\n  - path: proto\n  - path: echo\n");
    const args = ["build", "-o", outFile, "--path", "echo/tessera/bench/v1/echo.proto"];
    execFileSync(join(REPO_ROOT, "node_modules/.bin/buf"), args, { cwd: work, stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
    return outFile;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** tessera.bench.v1.EchoService from a compiled descriptor set. */
export function loadEchoService(descriptorFile = process.env.BENCH_ECHO_DESCRIPTORS): DescService {
  if (descriptorFile === undefined) throw new Error("BENCH_ECHO_DESCRIPTORS is not set");
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(descriptorFile)));
  const service = registry.getService(ECHO_SERVICE);
  if (service === undefined) throw new Error(`${ECHO_SERVICE} is not in ${descriptorFile}`);
  return service;
}
