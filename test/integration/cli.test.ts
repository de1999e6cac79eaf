import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { generateClientSecret, hashClientSecret } from "../../src/config/dev-mode.js";
import { basicAuthorization } from "../helpers/fixtures.js";
import { REPO_ROOT, childEnv, spawnTessera, type Spawned } from "../helpers/child-process.js";
import { grpcJsApi, type TokenServiceApi } from "../helpers/token-service-clients.js";

const PORTS_0 = { TESSERA_HTTP_PORT: "0", TESSERA_GRPC_PORT: "0" };
const EXIT_TIMEOUT_MS = 10_000;

const children: Spawned[] = [];
const clients: TokenServiceApi[] = [];
let tmp: string;

function start(args: string[], env: Record<string, string> = {}): Spawned {
  const spawned = spawnTessera(args, env);
  children.push(spawned);
  return spawned;
}

function grpcApi(address: string): TokenServiceApi {
  const api = grpcJsApi(address);
  clients.push(api);
  return api;
}

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "tessera-cli-test-"));
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  for (const child of children) child.kill();
  await Promise.all(children.map((c) => c.exited(EXIT_TIMEOUT_MS).catch(() => undefined)));
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Waits for SIGTERM to end the process with exit code 0, within a bound. */
async function stopsCleanly(child: Spawned): Promise<void> {
  const t = performance.now();
  assert.ok(child.child.kill("SIGTERM"), "SIGTERM delivered");
  const { code, signal } = await child.exited(EXIT_TIMEOUT_MS);
  assert.equal(signal, null, "exits by itself, not killed by the signal");
  assert.equal(code, 0, `exit code 0\nstderr:\n${child.stderr()}`);
  assert.ok(performance.now() - t < EXIT_TIMEOUT_MS);
}

async function verifiedToken(token: string, jwksJson: string, audience: string, issuer: string) {
  return jwtVerify(token, createLocalJWKSet(JSON.parse(jwksJson) as JSONWebKeySet), { typ: "at+jwt", issuer, audience });
}

describe("tessera serve (dev mode)", () => {
  test("prints the demo client, serves it over gRPC and Connect, stops on SIGTERM with code 0", async () => {
    const child = start(["serve"], PORTS_0);
    const line = await child.waitFor(
      "stdout",
      /demo client: client_id=(\S+) client_secret=(\S+) audience=(\S+) scopes="([^"]*)" http=(\S+) grpc=(\S+)\n/,
    );
    const [, clientId, secret, audience, scopes, httpUrl, grpcAddress] = line as unknown as string[];
    assert.equal(clientId, "demo");
    assert.match(secret!, /^[A-Za-z0-9_-]{43,}$/, "a server-generated secret of at least 256 bits");
    assert.match(httpUrl!, /^http:\/\/127\.0\.0\.1:(\d+)$/);
    assert.match(grpcAddress!, /^127\.0\.0\.1:(\d+)$/);
    assert.notEqual(new URL(httpUrl!).port, "0");
    assert.notEqual(grpcAddress!.split(":")[1], "0");
    await child.waitFor("stderr", /DEV MODE/);
    assert.ok(!child.stderr().includes(secret!), "the secret is printed once, on stdout only");
    const authorization = basicAuthorization(clientId!, secret!);

    // gRPC (grpc-js) on the printed gRPC address.
    const api = grpcApi(grpcAddress!);
    const issued = await api.issueToken({}, authorization);
    assert.equal(issued.audience, audience);
    assert.deepEqual(issued.scopes, scopes!.split(" "));
    assert.equal(issued.expiresIn, 300n);
    const jwksJson = (await api.getJwks()).jwksJson;
    const { payload } = await verifiedToken(issued.accessToken, jwksJson, audience!, httpUrl!);
    assert.equal(payload.sub, "demo");
    assert.equal(payload["scope"], scopes);

    // Connect JSON over HTTP/1.1 (plain fetch) on the printed HTTP URL.
    const res = await fetch(`${httpUrl}/tessera.v1.TokenService/IssueToken`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization },
      body: JSON.stringify({ audience, scopes: ["demo.read"] }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { accessToken: string; tokenType: string; expiresIn: string; scopes: string[]; audience: string };
    assert.equal(body.tokenType, "Bearer");
    assert.equal(body.expiresIn, "300");
    assert.deepEqual(body.scopes, ["demo.read"]);
    assert.equal(body.audience, audience);
    assert.equal((await verifiedToken(body.accessToken, jwksJson, audience!, httpUrl!)).payload["scope"], "demo.read");

    // A wrong secret is a Connect unauthenticated error, without the secret in it.
    const refused = await fetch(`${httpUrl}/tessera.v1.TokenService/IssueToken`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: basicAuthorization("demo", `${secret}x`) },
      body: "{}",
    });
    assert.equal(refused.status, 401);
    const error = (await refused.json()) as { code: string; message: string };
    assert.equal(error.code, "unauthenticated");
    assert.ok(!JSON.stringify(error).includes(secret!));

    await stopsCleanly(child);
    assert.ok(!child.stderr().includes(secret!), "no secret in the logs");
    await assert.rejects(fetch(`${httpUrl}/healthz`), "the HTTP listener is closed after exit");
  });
});

describe("tessera serve --config", () => {
  test("an invalid configuration exits with code 1 and names the field", async () => {
    const file = join(tmp, "invalid.yaml");
    await writeFile(file, ["clients:", "  - id: broken", "    authMethod: nope", "    secretHashes: []", ""].join("\n"));
    const child = start(["serve", "--config", file], PORTS_0);
    const { code } = await child.exited(EXIT_TIMEOUT_MS);
    assert.equal(code, 1);
    assert.match(child.stderr(), /clients\[0\] \(broken\)\.authMethod: must be one of/);
    assert.ok(!child.stderr().includes("tessera listening"), "nothing was started");
    assert.equal(child.stdout(), "");
  });

  test("an unreadable configuration file exits with code 1", async () => {
    const child = start(["serve", "--config", join(tmp, "missing.yaml")], PORTS_0);
    const { code } = await child.exited(EXIT_TIMEOUT_MS);
    assert.equal(code, 1);
    assert.match(child.stderr(), /cannot read/);
  });

  test("a valid YAML configuration starts without a demo client and prints no secret", async () => {
    const secret = generateClientSecret();
    const hash = hashClientSecret(secret);
    const file = join(tmp, "valid.yaml");
    await writeFile(
      file,
      [
        "clients:",
        "  - id: svc-a",
        "    authMethod: client_secret_basic",
        "    secretHashes:",
        `      - "${hash}"`,
        "    grants:",
        "      - audience: https://api.example.com",
        "        scopes: [api.read, api.write]",
        "",
      ].join("\n"),
    );
    const child = start(["serve", "--config", file], PORTS_0);
    const started = await child.waitFor("stderr", /^(\{.*"msg":"tessera listening".*\})$/m);
    const log = JSON.parse(started[1]!) as { http: string; grpc: string; issuer: string };
    assert.match(log.http, /^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    assert.match(log.grpc, /^127\.0\.0\.1:[1-9]\d*$/);

    const api = grpcApi(log.grpc);
    const issued = await api.issueToken({ resource: "https://api.example.com", scopes: ["api.read"] }, basicAuthorization("svc-a", secret));
    const { payload } = await verifiedToken(issued.accessToken, (await api.getJwks()).jwksJson, "https://api.example.com", log.issuer);
    assert.equal(payload.sub, "svc-a");
    // The demo client does not exist here.
    await assert.rejects(api.issueToken({}, basicAuthorization("demo", secret)));

    await stopsCleanly(child);
    const all = child.stdout() + child.stderr();
    assert.equal(child.stdout(), "", "no demo line");
    assert.ok(!all.includes("DEV MODE"));
    assert.ok(!all.includes("client_secret"));
    assert.ok(!all.includes(secret), "the secret is never printed");
    assert.ok(!all.includes(hash.slice("sha256:".length)), "nor its hash");
  });
});

describe("tessera secret", () => {
  const run = promisify(execFile);
  const secretCommand = () => run(process.execPath, ["bin/tessera.js", "secret"], { cwd: REPO_ROOT, env: childEnv({}), timeout: EXIT_TIMEOUT_MS });

  test("prints a client secret and the sha256 hash to configure", async () => {
    const [first, second] = await Promise.all([secretCommand(), secretCommand()]);
    const parse = (stdout: string) => {
      const match = /^client_secret=(\S+)\nsecretHashes entry: (sha256:\S+)\n$/.exec(stdout);
      assert.ok(match, `unexpected output: ${stdout}`);
      return { secret: match[1]!, hash: match[2]! };
    };
    const a = parse(first.stdout);
    const b = parse(second.stdout);
    assert.match(a.secret, /^[A-Za-z0-9_-]{43,}$/, "at least 256 bits, base64url");
    assert.equal(a.hash, hashClientSecret(a.secret));
    assert.equal(b.hash, hashClientSecret(b.secret));
    assert.notEqual(a.secret, b.secret, "a new secret every time");
  });

  test("an unknown command exits with code 2 and the usage", async () => {
    const child = start(["frobnicate"]);
    const { code } = await child.exited(EXIT_TIMEOUT_MS);
    assert.equal(code, 2);
    assert.match(child.stderr(), /unknown command: frobnicate/);
    assert.match(child.stderr(), /usage: tessera/);
  });
});
