// The dependency rules of DESIGN.md, checked on the import graph of src/ (and the
// generated code it imports): no import cycles; every arrow points down the layer
// order; the core (issuer, verifier, token source) reaches no transport or Redis,
// transitively; the Connect interceptors never import grpc-js and the reverse;
// each entry point loads only its own transport; nothing imports the CLI.
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

// `import … from "x"`, `export … from "x"`, `import "x"` and `import("x")`.
const IMPORT = /^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"|^\s*import\s+"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/gms;
const GEN = join(REPO_ROOT, "gen");

/**
 * file → its imports: relative ones resolved to files (src files relative to src,
 * generated ones as "gen/…"), others as package names. Generated files are part
 * of the graph, so that package closures see what they pull in.
 */
const graph = new Map<string, { local: string[]; packages: string[]; lazy: string[] }>();
function nodeName(path: string): string | undefined {
  if (path.startsWith(SRC)) return relative(SRC, path);
  if (path.startsWith(GEN)) return `gen/${relative(GEN, path)}`;
  return undefined;
}
function readGraph(file: string): void {
  const name = nodeName(file)!;
  if (graph.has(name)) return;
  const local: string[] = [];
  const packages: string[] = [];
  const lazy: string[] = [];
  graph.set(name, { local, packages, lazy });
  for (const match of readFileSync(file, "utf8").matchAll(IMPORT)) {
    const spec = (match[1] ?? match[2] ?? match[3])!;
    if (match[3] !== undefined) lazy.push(spec);
    if (!spec.startsWith(".")) {
      packages.push(spec);
      continue;
    }
    const target = resolve(dirname(file), spec).replace(/\.js$/, ".ts");
    const targetName = nodeName(target);
    if (targetName === undefined) continue;
    local.push(targetName);
    readGraph(target);
  }
}
for (const file of files(SRC)) readGraph(file);

function importsOf(prefix: string): { file: string; local: string[]; packages: string[] }[] {
  return [...graph].filter(([file]) => file.startsWith(prefix)).map(([file, deps]) => ({ file, ...deps }));
}

/**
 * Every package a file reaches through local imports, with one path to it;
 * with `loadedAtOnce`, only through static imports (what importing the file
 * loads before any of its code runs).
 */
function packageClosure(start: string, loadedAtOnce = false): Map<string, string> {
  const reached = new Map<string, string>();
  const seen = new Set<string>();
  const walk = (file: string, path: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    const deps = graph.get(file)!;
    const lazyFiles = new Set(deps.lazy.map((spec) => nodeName(resolve(dirname(join(SRC, file)), spec).replace(/\.js$/, ".ts"))));
    for (const pkg of deps.packages) if (!reached.has(pkg) && !(loadedAtOnce && deps.lazy.includes(pkg))) reached.set(pkg, [...path, file].join(" → "));
    for (const next of deps.local) if (!(loadedAtOnce && lazyFiles.has(next))) walk(next, [...path, file]);
  };
  walk(start, []);
  return reached;
}

/** DESIGN.md's layer order, low to high: a file may import its own folder and lower ranks. */
const RANK: Record<string, number> = {
  internal: 0,
  errors: 1,
  config: 2,
  keys: 3,
  registry: 3,
  store: 3,
  policy: 3,
  issuer: 4,
  verifier: 4,
  "token-source": 4,
  interceptors: 5,
  remote: 5,
  server: 6,
  cli: 7,
  "(entry)": 8,
};
/** Arrows between siblings of one rank that DESIGN allows, by folder. */
const SIBLING_ARROWS = new Set(["issuer→verifier", "registry→keys", "store→keys", "store→registry"]);
/** Folders that may import generated code (the protos' messages and options). */
const GEN_IMPORTERS = new Set(["errors", "policy", "interceptors", "remote", "server", "cli", "(entry)"]);

function folderOf(file: string): string {
  if (file.startsWith("gen/")) return "gen";
  const slash = file.indexOf("/");
  return slash === -1 ? "(entry)" : file.slice(0, slash);
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

  test("layers point down the whole order: no import to a higher rank or an unlisted sibling", () => {
    const wrong: string[] = [];
    for (const [file, { local }] of graph) {
      if (file.startsWith("gen/")) continue;
      const from = folderOf(file);
      assert.ok(from in RANK, `${file}: folder ${from} has no rank in this test; add it where DESIGN.md places it`);
      for (const dep of local) {
        const to = folderOf(dep);
        if (to === "gen") {
          if (!GEN_IMPORTERS.has(from)) wrong.push(`${file} → ${dep} (generated code outside ${[...GEN_IMPORTERS].join(", ")})`);
          continue;
        }
        if (to === from) continue;
        if (RANK[to]! < RANK[from]!) continue;
        if (RANK[to] === RANK[from] && SIBLING_ARROWS.has(`${from}→${to}`)) continue;
        wrong.push(`${file} → ${dep}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  test("internal imports nothing of src; nothing imports the CLI", () => {
    for (const { file, local } of importsOf("internal/"))
      assert.deepEqual(
        local.filter((d) => !d.startsWith("internal/")),
        [],
        file,
      );
    for (const [file, { local }] of graph) if (!file.startsWith("cli/")) assert.ok(!local.some((d) => d.startsWith("cli/")), `${file} imports the CLI`);
  });

  test("the core reaches no transport, Redis or server package, transitively", () => {
    // node:net is allowed: the core uses its address parsing (isIP), never a socket.
    const forbidden = /grpc|connectrpc|ioredis|httpolyglot|^yaml$|^node:(http|http2|https|tls|dgram)$/;
    for (const prefix of ["issuer/", "verifier/", "token-source/"]) {
      for (const { file } of importsOf(prefix)) {
        for (const [pkg, path] of packageClosure(file)) assert.ok(!forbidden.test(pkg), `${pkg} reached by ${path}`);
      }
    }
  });

  test("entry points load only their own transport (a transport imported lazily loads when used)", () => {
    const rules: [entry: string, forbidden: RegExp][] = [
      ["client.ts", /^@grpc\/|^@connectrpc\/|^@bufbuild\/|ioredis|httpolyglot/],
      ["connect.ts", /^@grpc\/|ioredis|httpolyglot/],
      ["grpc.ts", /^@connectrpc\/|ioredis|httpolyglot/],
      ["index.ts", /^@grpc\/|^@connectrpc\/|ioredis|httpolyglot/],
    ];
    for (const [entry, forbidden] of rules) {
      assert.ok(graph.has(entry), entry);
      for (const [pkg, path] of packageClosure(entry, true)) assert.ok(!forbidden.test(pkg), `${entry} loads ${pkg} through ${path}`);
    }
  });
});
