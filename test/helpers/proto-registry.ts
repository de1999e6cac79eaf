import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createFileRegistry, fromBinary, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The fixture protos of the tests, laid out by package path (e.g. example/v1/x.proto). */
export const FIXTURE_PROTO_DIR = join(REPO, "test/fixtures/proto");

/**
 * Compiles fixture protos with the buf CLI of devDependencies, in a throw-away
 * workspace whose modules are the repository's proto/ and the given fixture
 * files, and returns a registry of the descriptors (imports included).
 *
 * @param files paths relative to test/fixtures/proto, e.g. "example/v1/policy_fixture.proto"
 */
export function buildFixtureRegistry(files: readonly string[]): FileRegistry {
  const work = mkdtempSync(join(tmpdir(), "tessera-buf-"));
  try {
    cpSync(join(REPO, "proto"), join(work, "tessera"), { recursive: true });
    for (const file of files) {
      const target = join(work, "fixtures", file);
      mkdirSync(dirname(target), { recursive: true });
      cpSync(join(FIXTURE_PROTO_DIR, file), target);
    }
    writeFileSync(join(work, "buf.yaml"), "version: v2\nmodules:\n  - path: tessera\n  - path: fixtures\n");
    const out = join(work, "image.binpb");
    const args = ["build", "-o", out, ...files.flatMap((f) => ["--path", join("fixtures", f)])];
    execFileSync(join(REPO, "node_modules/.bin/buf"), args, { cwd: work, stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
    return createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(out)));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
