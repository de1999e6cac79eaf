// The package as npm publishes it: `npm pack` builds dist/ (prepack) and packs bin/, dist/ and
// proto/tessera only, with a package.json that has no tessera-source condition and takes grpc-js,
// protobuf-es and Connect as peer dependencies. A consumer project installs the tarball and those
// peers and uses it with plain Node (no tsx, no TypeScript sources): its `tessera` command serves in
// dev mode, a script of its own gets a token through the public API and verifies it, its own proto
// uses Tessera's options (buf, with the options' generated code imported from the package) and a
// grpc-js server of its own enforces them, and TypeScript resolves the declarations of every entry.
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, test } from "node:test";
import { REPO_ROOT } from "../helpers/child-process.js";

const run = promisify(execFile);
const PEERS = ["@bufbuild/protobuf", "@connectrpc/connect", "@connectrpc/connect-node", "@grpc/grpc-js"];
const work = mkdtempSync(join(tmpdir(), "tessera-package-"));
const consumer = join(work, "consumer");
const children: ChildProcess[] = [];
after(async () => {
  await Promise.all(
    children.map((child) =>
      child.exitCode !== null || child.signalCode !== null
        ? undefined
        : new Promise((resolve) => {
            child.once("exit", resolve);
            child.kill("SIGKILL");
          }),
    ),
  );
  // The consumer's node_modules takes seconds to delete on a loaded machine: a detached rm does it,
  // so that this file ends at once (the leak guard fails a file still running 5 s after its tests).
  spawn("rm", ["-rf", work], { detached: true, stdio: "ignore" }).unref();
});

/** This process's environment without anything that points Node at the sources. */
function plainEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("TESSERA_") && key !== "NODE_OPTIONS"));
  return { ...env, ...extra };
}

const CONSUMER_SCRIPT = `
import { remoteVerifier } from "tessera";
import { clientCredentialsFetcher, TokenSource } from "tessera/client";
import { protect, tokenInterceptor } from "tessera/connect";
import { authServerInterceptor, tokenCallCredentials, tokenClientInterceptor } from "tessera/grpc";
import { createTesseraServer } from "tessera/server";

for (const f of [tokenCallCredentials, protect, tokenInterceptor, authServerInterceptor, tokenClientInterceptor, createTesseraServer]) {
  if (typeof f !== "function") throw new Error("an entry point is missing an export");
}
const { TESSERA, CLIENT_ID, CLIENT_SECRET } = process.env;
const { issuer } = await (await fetch(TESSERA + "/.well-known/oauth-authorization-server")).json();
const tokens = new TokenSource({
  fetch: clientCredentialsFetcher({ tokenEndpoint: TESSERA + "/oauth2/token", clientId: CLIENT_ID, auth: { method: "client_secret_basic", secret: CLIENT_SECRET } }),
});
const token = await tokens.get("https://demo.example", ["demo.read"]);
const verifier = remoteVerifier({ issuer, jwksUrl: TESSERA + "/.well-known/jwks.json" });
await verifier.start();
const claims = await verifier.verify(token);
verifier.stop();
console.log(JSON.stringify({ aud: claims.aud, scopes: claims.scopes, clientId: claims.clientId }));
`;

// The consumer's own service: its rules are Tessera's options, imported from the package's proto/.
const INVENTORY_PROTO = `syntax = "proto3";

package inventory.v1;

import "tessera/v1/options.proto";

service InventoryService {
  rpc GetStock(GetStockRequest) returns (GetStockResponse) {
    option (tessera.v1.method_auth) = {
      audience: "https://demo.example"
      scopes: "demo.read"
    };
  }
  rpc AdjustStock(AdjustStockRequest) returns (AdjustStockResponse) {
    option (tessera.v1.method_auth) = {
      audience: "https://demo.example"
      scopes: "inventory.admin"
    };
  }
}

message GetStockRequest {
  string sku = 1;
}

message GetStockResponse {
  int32 count = 1;
}

message AdjustStockRequest {
  string sku = 1;
  int32 delta = 2;
}

message AdjustStockResponse {
  int32 count = 1;
}
`;

// README "Use the options in your own protos", verbatim in spirit: the package's proto/ as a second
// buf module, code generated for the consumer's module only, the options' import rewritten to the package.
const BUF_YAML = `version: v2
modules:
  - path: proto
  - path: node_modules/tessera/proto
`;
const BUF_GEN_YAML = `version: v2
plugins:
  - local: protoc-gen-es
    out: gen
    opt:
      - target=js+dts
      - import_extension=js
      - rewrite_imports=./tessera/**/*_pb.js:tessera/gen
inputs:
  - directory: proto
`;

const INVENTORY_SCRIPT = `
import { getOption } from "@bufbuild/protobuf";
import { credentials, Metadata, Server, ServerCredentials } from "@grpc/grpc-js";
import { remoteVerifier } from "tessera";
import { clientCredentialsFetcher, TokenSource } from "tessera/client";
import { authErrorDetail, authServerInterceptor, bridgeService, grpcClientConstructor, grpcPrincipal, tokenClientInterceptor } from "tessera/grpc";
import { method_auth } from "tessera/gen/tessera/v1/options_pb.js";
import { InventoryService } from "./gen/inventory/v1/inventory_pb.js";

const { TESSERA, CLIENT_ID, CLIENT_SECRET } = process.env;
const { issuer } = await (await fetch(TESSERA + "/.well-known/oauth-authorization-server")).json();
const verifier = remoteVerifier({ issuer, jwksUrl: TESSERA + "/.well-known/jwks.json" });
await verifier.start();
const server = new Server({ interceptors: [authServerInterceptor({ verifier, services: [InventoryService] })] });
const { definition, implementation } = bridgeService(InventoryService, {
  getStock: async (_request, call) => ({ count: grpcPrincipal(call) ? 7 : -1 }),
  adjustStock: async (request) => ({ count: 7 + request.delta }),
});
server.addService(definition, implementation);
const port = await new Promise((resolve, reject) => server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
const target = "127.0.0.1:" + port;

const tokens = new TokenSource({
  fetch: clientCredentialsFetcher({ tokenEndpoint: TESSERA + "/oauth2/token", clientId: CLIENT_ID, auth: { method: "client_secret_basic", secret: CLIENT_SECRET } }),
});
const Inventory = grpcClientConstructor(InventoryService);
const call = (client, method, request, metadata = new Metadata()) =>
  new Promise((resolve) => client[method](request, metadata, (err, res) => resolve(err ? { code: err.code, details: err.details, detail: err.metadata && authErrorDetail(err.metadata) } : res)));

const withTokens = new Inventory(target, credentials.createInsecure(), {
  interceptors: [tokenClientInterceptor({ tokens, services: [InventoryService], channel: { target, tls: false } })],
});
const raw = new Inventory(target, credentials.createInsecure());
const readToken = new Metadata();
readToken.set("authorization", "Bearer " + (await tokens.get("https://demo.example", ["demo.read"])));

const result = {
  option: getOption(InventoryService.method.adjustStock, method_auth).scopes,
  stock: await call(withTokens, "GetStock", { sku: "a" }),
  adjustOutsideGrant: (await call(withTokens, "AdjustStock", { sku: "a", delta: 1 })).code,
  noToken: (await call(raw, "GetStock", { sku: "a" })).code,
  readTokenOnAdjust: await call(raw, "AdjustStock", { sku: "a", delta: 1 }, readToken),
};
result.stock = result.stock.count ?? result.stock;
result.readTokenOnAdjust = { code: result.readTokenOnAdjust.code, required: result.readTokenOnAdjust.detail?.requiredScopes };
withTokens.close();
raw.close();
verifier.stop();
server.forceShutdown();
console.log(JSON.stringify(result));
`;

const CONSUMER_TYPES = `
import { type Principal } from "tessera";
import { TokenSource } from "tessera/client";
import { AuthErrorDetailSchema, type AuthErrorDetail } from "tessera/gen/tessera/v1/token_service_pb.js";
import { principal } from "tessera/connect";
import { grpcPrincipal } from "tessera/grpc";
import { createTesseraServer, type TesseraServer } from "tessera/server";
export const used: [typeof TokenSource, typeof principal, typeof grpcPrincipal, typeof createTesseraServer, typeof AuthErrorDetailSchema] = [TokenSource, principal, grpcPrincipal, createTesseraServer, AuthErrorDetailSchema];
export type Used = [Principal, TesseraServer, AuthErrorDetail];
`;

/**
 * A copy of what `npm pack` reads, with the checkout's node_modules: packing rewrites package.json
 * (prepack strips the tessera-source condition) and rebuilds dist/, which must never happen under the
 * tests that run beside this one and resolve `tessera/*` through the checkout's package.json.
 */
function packingStage(): string {
  const stage = join(work, "stage");
  mkdirSync(stage);
  for (const path of ["package.json", "tsconfig.json", "tsconfig.build.json", "README.md", "bin", "src", "gen", "proto/tessera", "scripts/pack-manifest.js"]) {
    cpSync(join(REPO_ROOT, path), join(stage, path), { recursive: true });
  }
  symlinkSync(join(REPO_ROOT, "node_modules"), join(stage, "node_modules"));
  return stage;
}

test("npm pack: a consumer installs the tarball and runs it with plain Node and TypeScript", { timeout: 300_000 }, async () => {
  const stage = packingStage();
  const packed = await run("npm", ["pack", "--json", "--pack-destination", work], {
    cwd: stage,
    env: plainEnv(),
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
  });
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as { filename: string; files: { path: string }[] }[];
  const files = info!.files.map((f) => f.path);
  for (const expected of [
    "bin/tessera.js",
    "dist/src/index.js",
    "dist/src/index.d.ts",
    "dist/src/connect.js",
    "dist/src/grpc.js",
    "dist/src/server.js",
    "dist/src/client.js",
    "dist/src/cli/main.js",
    "dist/gen/tessera/v1/options_pb.js",
    "dist/gen/tessera/v1/options_pb.d.ts",
    "proto/tessera/v1/options.proto",
  ]) {
    assert.ok(files.includes(expected), `the package holds ${expected}`);
  }
  assert.deepEqual(
    files.filter((f) => /^(src|test|bench|examples|gen)\//.test(f)),
    [],
    "no sources, tests or benchmarks in the package",
  );
  assert.deepEqual(
    files.filter((f) => /^proto\/(?!tessera\/)/.test(f)),
    [],
    "no vendored protos that could clash with a consumer's googleapis or grpc protos",
  );

  // The packed manifest: no condition pointing at sources that are not shipped, the shared runtimes as peers.
  const manifestText = (await run("tar", ["-xzOf", join(work, info!.filename), "package/package.json"], { timeout: 30_000 })).stdout;
  const manifest = JSON.parse(manifestText) as {
    exports: Record<string, Record<string, string>>;
    dependencies: Record<string, string>;
    peerDependencies: Record<string, string>;
    peerDependenciesMeta: Record<string, { optional?: boolean }>;
  };
  for (const [subpath, conditions] of Object.entries(manifest.exports)) {
    assert.deepEqual(Object.keys(conditions), ["types", "default"], `exports["${subpath}"] has only the conditions of the shipped dist/`);
  }
  assert.deepEqual(Object.keys(manifest.peerDependencies).sort(), PEERS);
  for (const name of [...PEERS, "tsx"]) assert.equal(manifest.dependencies[name], undefined, `${name} is not a runtime dependency`);
  assert.equal(manifest.peerDependenciesMeta["@grpc/grpc-js"]?.optional, true, "an application on Connect alone needs no grpc-js");
  assert.match(readFileSync(join(stage, "package.json"), "utf8"), /"tessera-source": "\.\/src\/index\.ts"/, "postpack restored the package.json it packed");

  mkdirSync(consumer);
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  // The peers at the versions this checkout tests with (its devDependencies), as an application would pin them.
  const devDependencies = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { devDependencies: Record<string, string> }).devDependencies;
  const peers = PEERS.map((name) => `${name}@${devDependencies[name]}`);
  // First the package alone: npm adds the required peer (protobuf-es), not the optional ones, and
  // the command says which to install instead of failing on a bare module-not-found.
  await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", join(work, info!.filename)], {
    cwd: consumer,
    env: plainEnv(),
    timeout: 180_000,
  });
  assert.ok(existsSync(join(consumer, "node_modules/@bufbuild/protobuf/package.json")), "the required peer is installed with the package");
  const withoutPeers = await run(join(consumer, "node_modules/.bin/tessera"), ["serve"], {
    cwd: consumer,
    env: plainEnv({ TESSERA_HTTP_PORT: "0", TESSERA_GRPC_PORT: "0" }),
    timeout: 30_000,
  }).then(
    () => assert.fail("tessera serve ran without grpc-js and Connect"),
    (err: { code?: number; stderr?: string }) => err,
  );
  assert.equal(withoutPeers.code, 1);
  assert.match(
    withoutPeers.stderr ?? "",
    /is not installed\. The token service needs its peer dependencies:\n {2}npm install @grpc\/grpc-js @connectrpc\/connect @connectrpc\/connect-node/,
  );
  await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", ...peers], { cwd: consumer, env: plainEnv(), timeout: 180_000 });

  // The installed command, dev mode, free ports.
  const serve = spawn(join(consumer, "node_modules/.bin/tessera"), ["serve"], {
    cwd: consumer,
    env: plainEnv({ TESSERA_HTTP_PORT: "0", TESSERA_GRPC_PORT: "0" }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(serve);
  const demo = await new Promise<RegExpMatchArray>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`no demo client line within 30 s:\n${out}`)), 30_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /client_id=(\S+) client_secret=(\S+) .*http=(\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    serve.stdout!.on("data", onData);
    serve.stderr!.on("data", (chunk: Buffer) => (out += chunk.toString()));
    serve.once("exit", (code) => reject(new Error(`tessera serve exited (${code}):\n${out}`)));
  });
  const [, clientId, clientSecret, http] = demo;

  writeFileSync(join(consumer, "use.mjs"), CONSUMER_SCRIPT);
  const used = await run(process.execPath, ["use.mjs"], {
    cwd: consumer,
    env: plainEnv({ TESSERA: http!, CLIENT_ID: clientId!, CLIENT_SECRET: clientSecret! }),
    timeout: 30_000,
  });
  assert.deepEqual(JSON.parse(used.stdout), { aud: "https://demo.example", scopes: ["demo.read"], clientId });

  // The consumer's proto with Tessera's options: lint and generate with buf (the checkout's buf and
  // protoc-gen-es stand in for the consumer's own), then serve and call it with plain Node.
  mkdirSync(join(consumer, "proto/inventory/v1"), { recursive: true });
  writeFileSync(join(consumer, "proto/inventory/v1/inventory.proto"), INVENTORY_PROTO);
  writeFileSync(join(consumer, "buf.yaml"), BUF_YAML);
  writeFileSync(join(consumer, "buf.gen.yaml"), BUF_GEN_YAML);
  const bufEnv = plainEnv({ PATH: `${join(REPO_ROOT, "node_modules/.bin")}:${process.env.PATH ?? ""}` });
  await run("buf", ["lint"], { cwd: consumer, env: bufEnv, timeout: 60_000 });
  await run("buf", ["generate"], { cwd: consumer, env: bufEnv, timeout: 60_000 });
  assert.ok(!existsSync(join(consumer, "gen/tessera")), "the options' code comes from the package, not a second copy");
  assert.match(readFileSync(join(consumer, "gen/inventory/v1/inventory_pb.js"), "utf8"), /from "tessera\/gen\/tessera\/v1\/options_pb\.js"/);
  writeFileSync(join(consumer, "inventory.mjs"), INVENTORY_SCRIPT);
  const inventory = await run(process.execPath, ["inventory.mjs"], {
    cwd: consumer,
    env: plainEnv({ TESSERA: http!, CLIENT_ID: clientId!, CLIENT_SECRET: clientSecret! }),
    timeout: 30_000,
  });
  assert.deepEqual(JSON.parse(inventory.stdout), {
    option: ["inventory.admin"],
    stock: 7,
    adjustOutsideGrant: 7, // PERMISSION_DENIED: the token service refused the scope, the call was never sent
    noToken: 16, // UNAUTHENTICATED
    readTokenOnAdjust: { code: 7, required: ["inventory.admin"] }, // the service's own refusal, with the detail
  });

  writeFileSync(join(consumer, "use-types.ts"), CONSUMER_TYPES);
  writeFileSync(
    join(consumer, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        module: "NodeNext",
        moduleResolution: "NodeNext",
        target: "ES2022",
        strict: true,
        noEmit: true,
        types: ["node"],
        typeRoots: [join(REPO_ROOT, "node_modules/@types")],
      },
      files: ["use-types.ts"],
    }),
  );
  await run(join(REPO_ROOT, "node_modules/.bin/tsc"), ["-p", consumer], { cwd: consumer, env: plainEnv(), timeout: 60_000 });
});
