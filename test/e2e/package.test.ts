// The package as npm publishes it: `npm pack` builds dist/ (prepack) and packs bin/, dist/ and
// proto/ only. A consumer project installs the tarball and uses it with plain Node (no tsx, no
// TypeScript sources): its `tessera` command serves in dev mode, a script of its own gets a token
// through the public API and verifies it, and TypeScript resolves the declarations of every entry.
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, test } from "node:test";
import { REPO_ROOT } from "../helpers/child-process.js";

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), "tessera-package-"));
const consumer = join(work, "consumer");
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) child.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

/** This process's environment without anything that points Node at the sources. */
function plainEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("TESSERA_") && key !== "NODE_OPTIONS"));
  return { ...env, ...extra };
}

const CONSUMER_SCRIPT = `
import { clientCredentialsFetcher, remoteVerifier, TokenSource } from "tessera";
import { TokenSource as ClientTokenSource } from "tessera/client";
import { protect, tokenInterceptor } from "tessera/connect";
import { authServerInterceptor, tokenCallCredentials, tokenClientInterceptor } from "tessera/grpc";
import { createTesseraServer } from "tessera/server";

for (const f of [ClientTokenSource, tokenCallCredentials, protect, tokenInterceptor, authServerInterceptor, tokenClientInterceptor, createTesseraServer]) {
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

const CONSUMER_TYPES = `
import { TokenSource, type Principal } from "tessera";
import { principal } from "tessera/connect";
import { grpcPrincipal } from "tessera/grpc";
import { createTesseraServer, type TesseraServer } from "tessera/server";
export const used: [typeof TokenSource, typeof principal, typeof grpcPrincipal, typeof createTesseraServer] = [TokenSource, principal, grpcPrincipal, createTesseraServer];
export type Used = [Principal, TesseraServer];
`;

test("npm pack: a consumer installs the tarball and runs it with plain Node and TypeScript", { timeout: 240_000 }, async () => {
  const packed = await run("npm", ["pack", "--json", "--pack-destination", work], { cwd: REPO_ROOT, env: plainEnv(), maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as { filename: string; files: { path: string }[] }[];
  const files = info!.files.map((f) => f.path);
  for (const expected of ["bin/tessera.js", "dist/src/index.js", "dist/src/index.d.ts", "dist/src/connect.js", "dist/src/grpc.js", "dist/src/server.js", "dist/src/client.js", "dist/src/cli/main.js", "proto/tessera/v1/options.proto"]) {
    assert.ok(files.includes(expected), `the package holds ${expected}`);
  }
  assert.deepEqual(files.filter((f) => /^(src|test|bench|examples|gen)\//.test(f)), [], "no sources, tests or benchmarks in the package");

  mkdirSync(consumer);
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", join(work, info!.filename)], { cwd: consumer, env: plainEnv(), timeout: 180_000 });

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
  const used = await run(process.execPath, ["use.mjs"], { cwd: consumer, env: plainEnv({ TESSERA: http!, CLIENT_ID: clientId!, CLIENT_SECRET: clientSecret! }), timeout: 30_000 });
  assert.deepEqual(JSON.parse(used.stdout), { aud: "https://demo.example", scopes: ["demo.read"], clientId });

  writeFileSync(join(consumer, "use-types.ts"), CONSUMER_TYPES);
  writeFileSync(
    join(consumer, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, noEmit: true, types: ["node"], typeRoots: [join(REPO_ROOT, "node_modules/@types")] },
      files: ["use-types.ts"],
    }),
  );
  await run(join(REPO_ROOT, "node_modules/.bin/tsc"), ["-p", consumer], { cwd: consumer, env: plainEnv(), timeout: 60_000 });
});
