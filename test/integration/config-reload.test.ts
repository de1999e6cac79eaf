// SIGHUP reloads the file's clients, grants and token lifetimes into a running
// `tessera serve`; a file that does not load keeps the running configuration
// and says why; settings that need a restart are named; the process lives on.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { randomUUID } from "node:crypto";
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from "jose";
import { hashClientSecret } from "../../src/registry/client-secret.js";
import { logLine, spawnTessera, type Spawned } from "../helpers/child-process.js";
import { requestToken } from "../helpers/client-admin.js";
import { until } from "../helpers/wait.js";

const SECRET = "reload-secret-0123456789-abcdefghij-0123456789";
const FILES = "https://files.example.com";
const ISSUER = "http://127.0.0.1:8080";
const WORKLOAD_ISSUER = "https://cluster.example.com";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
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
  return `issuer: ${ISSUER}\nshutdown: { drainMs: ${drainMs}, graceMs: 0 }\ntokens: { lifetimeSeconds: ${lifetime} }\nclients:\n${entries.join("")}`;
}

/** The JSON log lines with message `message` so far. */
function linesOf(message: string): Record<string, unknown>[] {
  return child
    .stderr()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.msg === message);
}

/** Sends SIGHUP and returns the JSON log line with message `message` that answers it (not an earlier one). */
async function hangUpAndWait(message: string): Promise<Record<string, unknown>> {
  const before = linesOf(message).length;
  assert.ok(child.child.kill("SIGHUP"));
  return until(() => linesOf(message)[before], `a new "${message}" line`);
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

  test("reloads trusted issuers: a new issuer's jwt-bearer grant is accepted, and the metadata says so", async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "cluster-1", alg: "ES256", use: "sig" };
    const grantTypes = async () =>
      ((await (await fetch(`${httpUrl}/.well-known/oauth-authorization-server`)).json()) as { grant_types_supported: string[] }).grant_types_supported;
    const assertion = () =>
      new SignJWT({})
        .setProtectedHeader({ alg: "ES256", kid: "cluster-1" })
        .setIssuer(WORKLOAD_ISSUER)
        .setSubject("system:serviceaccount:jobs:runner")
        .setAudience(ISSUER)
        .setIssuedAt()
        .setExpirationTime("2m")
        .setJti(randomUUID())
        .sign(privateKey);
    const bearerGrant = async () =>
      fetch(`${httpUrl}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${Buffer.from(`runner:${SECRET}`).toString("base64")}` },
        body: new URLSearchParams({ grant_type: JWT_BEARER, assertion: await assertion(), resource: FILES, scope: "file.view" }),
      });
    assert.ok(!(await grantTypes()).includes(JWT_BEARER));
    assert.equal((await bearerGrant()).status, 400, "no trusted issuer yet");

    const trusted = `trustedIssuers:\n  - issuer: ${WORKLOAD_ISSUER}\n    jwks: ${JSON.stringify({ keys: [jwk] })}\n    subjects: [{ subject: "system:serviceaccount:jobs:runner", clientId: runner }]\n`;
    await writeFile(
      file,
      `${yaml(["two"], 120)}  - id: runner\n    authMethod: client_secret_basic\n    secretHashes: ["${hashClientSecret(SECRET)}"]\n    grantTypes: [${JWT_BEARER}]\n    grants: [{ audience: "${FILES}", scopes: [file.view] }]\n${trusted}`,
    );
    const reloaded = await hangUpAndWait("configuration reloaded");
    assert.equal(reloaded.trusted_issuers, 1);
    assert.ok((await grantTypes()).includes(JWT_BEARER));
    const granted = await bearerGrant();
    assert.equal(granted.status, 200, await granted.clone().text());
    assert.equal(decodeJwt(((await granted.json()) as { access_token: string }).access_token).client_id, "runner");

    await writeFile(file, yaml(["two"], 120));
    await hangUpAndWait("configuration reloaded");
    assert.equal((await bearerGrant()).status, 400, "the issuer is gone again");
    assert.ok(!(await grantTypes()).includes(JWT_BEARER));
  });

  test("settings that need a restart are named, the rest applies", async () => {
    await writeFile(file, yaml(["four"], 90, 1000));
    assert.deepEqual((await hangUpAndWait("changed settings that apply only after a restart")).sections, ["shutdown"]);
    assert.equal((await requestToken(httpUrl, "four", SECRET, { resource: FILES })).body.expires_in, 90);
    assert.equal(child.child.exitCode, null, "still running");
  });
});
