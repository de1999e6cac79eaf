// The dependency rules of DESIGN.md, checked on the import graph of src/:
// no import cycles; the core (issuer, verifier) knows nothing of transports or
// Redis; the Connect interceptors never import grpc-js and the reverse;
// nothing imports the CLI; the layers point one way.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import { REPO_ROOT } from "../helpers/child-process.js";

const SRC = join(REPO_ROOT, "src");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
  });
}

const IMPORT = /^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/gms;

/** file (relative to src) → its imports: relative ones resolved to files in src, others as package names. */
const graph = new Map<string, { local: string[]; packages: string[] }>();
for (const file of files(SRC)) {
  const source = readFileSync(file, "utf8");
  const local: string[] = [];
  const packages: string[] = [];
  for (const match of source.matchAll(IMPORT)) {
    const spec = match[1]!;
    if (spec.startsWith(".")) {
      const target = resolve(dirname(file), spec).replace(/\.js$/, ".ts");
      if (target.startsWith(SRC)) local.push(relative(SRC, target));
    } else {
      packages.push(spec);
    }
  }
  graph.set(relative(SRC, file), { local, packages });
}

function importsOf(prefix: string): { file: string; local: string[]; packages: string[] }[] {
  return [...graph].filter(([file]) => file.startsWith(prefix)).map(([file, deps]) => ({ file, ...deps }));
}

describe("architecture (DESIGN.md)", () => {
  test("the graph was read", () => {
    assert.ok(graph.size > 50);
    assert.ok(graph.get("server/tessera-server.ts")!.local.includes("issuer/issuer-context.ts"));
    assert.ok(graph.get("interceptors/grpc/server.ts")!.packages.includes("@grpc/grpc-js"));
  });

  test("no import cycles", () => {
    const state = new Map<string, "visiting" | "done">();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "visiting") {
        cycles.push([...path.slice(path.indexOf(file)), file].join(" → "));
        return;
      }
      state.set(file, "visiting");
      for (const next of graph.get(file)?.local ?? []) visit(next, [...path, file]);
      state.set(file, "done");
    };
    for (const file of graph.keys()) visit(file, []);
    assert.deepEqual(cycles, []);
  });

  test("the core (issuer, verifier) imports no transport, no Redis, no server", () => {
    for (const { file, local, packages } of [...importsOf("issuer/"), ...importsOf("verifier/")]) {
      for (const pkg of packages) assert.ok(!/grpc|connectrpc|ioredis|^node:http|^node:net/.test(pkg), `${file} imports ${pkg}`);
      for (const dep of local) assert.ok(!/^(server|interceptors|store\/redis|cli)\//.test(dep), `${file} imports ${dep}`);
    }
  });

  test("Connect interceptors never import grpc-js, grpc-js interceptors never import Connect", () => {
    for (const { file, packages, local } of importsOf("interceptors/connect/")) {
      assert.ok(!packages.some((p) => p.startsWith("@grpc/")), file);
      assert.ok(!local.some((d) => d.startsWith("interceptors/grpc/")), file);
    }
    for (const { file, packages, local } of importsOf("interceptors/grpc/")) {
      assert.ok(!packages.some((p) => p.startsWith("@connectrpc/")), file);
      assert.ok(!local.some((d) => d.startsWith("interceptors/connect/")), file);
    }
  });

  test("layers point down: internal imports nothing of src; nothing below the server imports it; nothing imports the CLI", () => {
    for (const { file, local } of importsOf("internal/")) assert.deepEqual(local.filter((d) => !d.startsWith("internal/")), [], file);
    const below = ["internal/", "errors/", "config/", "keys/", "registry/", "store/", "policy/", "issuer/", "verifier/", "token-source/", "interceptors/"];
    for (const prefix of below) {
      for (const { file, local } of importsOf(prefix)) assert.ok(!local.some((d) => d.startsWith("server/") || d.startsWith("cli/")), `${file} imports the server or the CLI`);
    }
    for (const [file, { local }] of graph) if (!file.startsWith("cli/")) assert.ok(!local.some((d) => d.startsWith("cli/")), `${file} imports the CLI`);
  });
});
