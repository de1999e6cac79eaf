// SIGHUP reloads the file's clients, grants and token lifetimes into a running
// `tessera serve`; a file that does not load keeps the running configuration
// and says why; settings that need a restart are named; the process lives on.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { hashClientSecret } from "../../src/registry/client-secret.js";
import { logLine, spawnTessera, type Spawned } from "../helpers/child-process.js";
import { requestToken } from "../helpers/client-admin.js";

const SECRET = "reload-secret-0123456789-abcdefghij-0123456789";
const FILES = "https://files.example.com";
let dir: string;
let file: string;
let child: Spawned;
let httpUrl: string;

function yaml(clients: string[], lifetime: number, drainMs = 0): string {
  const entries = clients.map(
    (id) => `  - id: ${id}
    authMethod: client_secret_basic
    secretHashes: ["${hashClientSecret(SECRET)}"]
    grants: [{ audience: "${FILES}", scopes: [file.view] }]
`,
  );
  return `issuer: http://127.0.0.1:8080\nshutdown: { drainMs: ${drainMs}, graceMs: 0 }\ntokens: { lifetimeSeconds: ${lifetime} }\nclients:\n${entries.join("")}`;
}

/** Sends SIGHUP and returns the JSON log line with message `message` that answers it. */
async function hangUpAndWait(message: string): Promise<Record<string, unknown>> {
  assert.ok(child.child.kill("SIGHUP"));
  return logLine(child, message);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "tessera-reload-"));
  file = join(dir, "tessera.yaml");
  await writeFile(file, yaml(["one"], 300));
  child = spawnTessera(["serve", "--config", file], { TESSERA_HTTP_PORT: "0", TESSERA_GRPC_PORT: "0" });
  httpUrl = (await logLine(child, "tessera listening")).http as string;
});
after(async () => {
  child?.kill();
  await rm(dir, { recursive: true, force: true });
});

describe("SIGHUP", () => {
  test("reloads clients and lifetimes: a new client gets tokens, a removed one does not", async () => {
    assert.equal((await requestToken(httpUrl, "one", SECRET, { resource: FILES })).body.expires_in, 300);
    await writeFile(file, yaml(["two"], 120));
    assert.equal((await hangUpAndWait("configuration reloaded")).clients, 1);
    const two = await requestToken(httpUrl, "two", SECRET, { resource: FILES });
    assert.equal(two.status, 200);
    assert.equal(two.body.expires_in, 120);
    assert.equal((await requestToken(httpUrl, "one", SECRET, { resource: FILES })).status, 401);
  });

  test("an invalid file keeps the running configuration and logs why", async () => {
    await writeFile(file, `${yaml(["three"], 60)}  - id: broken\n    authMethod: nonsense\n`);
    assert.match(String((await hangUpAndWait("configuration not reloaded: the running one stays")).reason), /clients\[1\]/);
    assert.equal((await requestToken(httpUrl, "two", SECRET, { resource: FILES })).status, 200);
    assert.equal((await requestToken(httpUrl, "three", SECRET, { resource: FILES })).status, 401);
  });

  test("settings that need a restart are named, the rest applies", async () => {
    await writeFile(file, yaml(["four"], 90, 1000));
    assert.deepEqual((await hangUpAndWait("changed settings that apply only after a restart")).sections, ["shutdown"]);
    assert.equal((await requestToken(httpUrl, "four", SECRET, { resource: FILES })).body.expires_in, 90);
    assert.equal(child.child.exitCode, null, "still running");
  });
});
