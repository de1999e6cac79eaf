import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import type { Option, Command } from "commander";
import { tesseraProgram } from "../../src/cli/program.js";
import { generateClientSecret, hashClientSecret } from "../../src/registry/client-secret.js";
import { basicAuthorization } from "../helpers/fixtures.js";
import { REPO_ROOT, childEnv, spawnTessera, type Spawned } from "../helpers/child-process.js";
import { tessera } from "../helpers/run-tessera.js";
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
    const line = await child.waitFor("stdout", /demo client: client_id=(\S+) client_secret=(\S+) audience=(\S+) scopes="([^"]*)" http=(\S+) grpc=(\S+)\n/);
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
    assert.equal(payload.scope, scopes);

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
    assert.equal((await verifiedToken(body.accessToken, jwksJson, audience!, httpUrl!)).payload.scope, "demo.read");

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
  test("an invalid configuration exits with code 78 (EX_CONFIG) and names the field", async () => {
    const file = join(tmp, "invalid.yaml");
    await writeFile(file, ["clients:", "  - id: broken", "    authMethod: nope", "    secretHashes: []", ""].join("\n"));
    const child = start(["serve", "--config", file], PORTS_0);
    const { code } = await child.exited(EXIT_TIMEOUT_MS);
    assert.equal(code, 78);
    assert.match(child.stderr(), /clients\[0\] \(broken\)\.authMethod: must be one of/);
    assert.ok(!child.stderr().includes("tessera listening"), "nothing was started");
    assert.equal(child.stdout(), "");
  });

  test("an unreadable configuration file exits with code 78", async () => {
    const child = start(["serve", "--config", join(tmp, "missing.yaml")], PORTS_0);
    const { code } = await child.exited(EXIT_TIMEOUT_MS);
    assert.equal(code, 78);
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
    // stdout is the audit stream: JSON events only, no demo line.
    const events = child
      .stdout()
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => (JSON.parse(l) as { event: string }).event);
    assert.ok(events.includes("config.loaded") && events.includes("token.issued") && events.includes("client_auth.refused"), events.join());
    assert.ok(!all.includes("DEV MODE"));
    assert.ok(!all.includes("client_secret="), "no demo credentials line");
    assert.ok(!all.includes(secret), "the secret is never printed");
    assert.ok(!all.includes(issued.accessToken), "nor a token");
    assert.ok(!all.includes(hash.slice("sha256:".length)), "nor its hash");
  });
});

describe("tessera secret", () => {
  const run = promisify(execFile);
  const secretCommand = () => run(process.execPath, ["bin/tessera.js", "secret"], { cwd: REPO_ROOT, env: childEnv({}), timeout: 60_000 });

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
    assert.match(child.stderr(), /unknown command 'frobnicate'/);
    assert.match(child.stderr(), /tessera --help/);
  });
});

/** Every command a user can run, with its words after `tessera` (from the program's own definitions). */
function leafCommandsWithDefinitions(command: Command, path: string[] = []): { path: string[]; command: Command }[] {
  return command.commands.flatMap((c) =>
    c.commands.length > 0 ? leafCommandsWithDefinitions(c, [...path, c.name()]) : [{ path: [...path, c.name()], command: c }],
  );
}

function leafCommands(command: Command): string[][] {
  return leafCommandsWithDefinitions(command).map((l) => l.path);
}

const PACKAGE_VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;

describe("tessera command line", () => {
  const leaves = leafCommands(tesseraProgram());
  const groups = tesseraProgram()
    .commands.filter((c) => c.commands.length > 0)
    .map((c) => [c.name()]);

  test("the top-level usage lists every command, down to keys list/rotate/revoke and config check", async () => {
    assert.ok(leaves.length >= 8, `the program defines its commands: ${JSON.stringify(leaves)}`);
    for (const expected of [
      ["serve"],
      ["secret"],
      ["config", "check"],
      ["keys", "generate"],
      ["keys", "kek"],
      ["keys", "list"],
      ["keys", "rotate"],
      ["keys", "revoke"],
    ]) {
      assert.ok(
        leaves.some((l) => l.join(" ") === expected.join(" ")),
        `${expected.join(" ")} is defined`,
      );
    }
    const { code, stdout } = await tessera(["--help"]);
    assert.equal(code, 0);
    for (const leaf of leaves) assert.match(stdout, new RegExp(`^  ${leaf.join(" ")}\\b`, "m"), `tessera --help lists ${leaf.join(" ")}`);
    assert.match(stdout, /78 configuration error/, "the exit codes are documented in the usage");
  });

  test("--help on every command and group exits 0 with that command's usage, and does nothing else", async () => {
    const runs = await Promise.all([...leaves, ...groups].map(async (words) => ({ words, ran: await tessera([...words, "--help"]) })));
    for (const { words, ran } of runs) {
      assert.equal(ran.code, 0, `tessera ${words.join(" ")} --help: ${ran.stderr}`);
      assert.match(ran.stdout, new RegExp(`^Usage: tessera ${words.join(" ")}\\b`), `tessera ${words.join(" ")} --help`);
      assert.ok(!/client_secret=|BEGIN PRIVATE KEY/.test(ran.stdout), "help prints no secret and no key");
    }
  });

  test("--version prints the version from package.json", async () => {
    const ran = await tessera(["--version"]);
    assert.equal(ran.code, 0);
    assert.equal(ran.stdout, `${PACKAGE_VERSION}\n`);
  });

  test("unknown flags, unknown commands and missing arguments exit 2 with a message", async () => {
    const cases: { args: string[]; message: RegExp }[] = [
      { args: ["secret", "--bogus"], message: /unknown option '--bogus'/ },
      { args: ["keys", "list", "--bogus"], message: /unknown option '--bogus'/ },
      { args: ["keys", "revoke", "--config", "x.yaml"], message: /missing required argument 'kid'/ },
      { args: ["keys", "generate", "--alg", "HS256"], message: /Allowed choices are ES256, EdDSA, RS256/ },
      { args: ["keys", "rotate"], message: /keys rotate needs --config FILE \(or TESSERA_CONFIG\)/ },
      { args: ["serve", "--config", ""], message: /--config needs a file/ },
      { args: [], message: /Usage: tessera/ },
    ];
    const runs = await Promise.all(cases.map(async (c) => ({ ...c, ran: await tessera(c.args) })));
    for (const { args, message, ran } of runs) {
      assert.equal(ran.code, 2, `tessera ${args.join(" ")}: exit 2\n${ran.stderr}`);
      assert.match(ran.stderr, message, `tessera ${args.join(" ")}`);
      assert.equal(ran.stdout, "", `tessera ${args.join(" ")} prints nothing on stdout`);
    }
  });

  test("--config, -c and TESSERA_CONFIG work on every command that reads the configuration; a bad one exits 78", async () => {
    const readers = [["serve"], ["config", "check"], ["keys", "list"], ["keys", "rotate"], ["keys", "revoke"]];
    const byPath = new Map(leafCommandsWithDefinitions(tesseraProgram()).map(({ path, command }) => [path.join(" "), command]));
    for (const words of readers) {
      const option = byPath.get(words.join(" "))?.options.find((o: Option) => o.long === "--config");
      assert.ok(option, `${words.join(" ")} has --config`);
      assert.equal(option.short, "-c", `${words.join(" ")} has -c`);
      assert.equal(option.envVar, "TESSERA_CONFIG", `${words.join(" ")} falls back to TESSERA_CONFIG`);
    }
    const missing = join(tmp, "no-such-config.yaml");
    const runs = await Promise.all(
      [
        { how: "serve, TESSERA_CONFIG", args: ["serve"], env: { TESSERA_CONFIG: missing } },
        { how: "keys list -c", args: ["keys", "list", "-c", missing], env: {} },
        { how: "keys rotate, TESSERA_CONFIG", args: ["keys", "rotate"], env: { TESSERA_CONFIG: missing } },
        { how: "keys revoke --config", args: ["keys", "revoke", "some-kid", `--config=${missing}`], env: {} },
      ].map(async (c) => ({ ...c, ran: await tessera(c.args, { ...PORTS_0, ...c.env }) })),
    );
    for (const { how, ran } of runs) {
      assert.equal(ran.code, 78, `${how}: exit 78\n${ran.stderr}`);
      assert.match(ran.stderr, new RegExp(`cannot read ${missing}`), how);
    }
  });
});

describe("tessera secret --hash", () => {
  test("prints the secretHashes entry of a secret read from stdin, and never echoes the secret", async () => {
    const secret = randomBytes(32).toString("base64url");
    const [piped, withNewline] = await Promise.all([tessera(["secret", "--hash"], {}, secret), tessera(["secret", "--hash"], {}, `${secret}\n`)]);
    for (const ran of [piped, withNewline]) {
      assert.equal(ran.code, 0, ran.stderr);
      assert.equal(ran.stdout, `${hashClientSecret(secret)}\n`);
      assert.ok(!(ran.stdout + ran.stderr).includes(secret), "the secret is not echoed");
    }
  });

  test("warns about a short secret; refuses an empty one or several lines (exit 2), echoing none", async () => {
    const [short, empty, twoLines] = await Promise.all([
      tessera(["secret", "--hash"], {}, "hunter2-legacy"),
      tessera(["secret", "--hash"]),
      tessera(["secret", "--hash"], {}, "first-secret\nsecond-secret\n"),
    ]);
    assert.equal(short.code, 0);
    assert.equal(short.stdout, `${hashClientSecret("hunter2-legacy")}\n`);
    assert.match(short.stderr, /warning: this secret is shorter than a generated one/);
    assert.ok(!short.stderr.includes("hunter2"));
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /empty secret/);
    assert.equal(twoLines.code, 2);
    assert.match(twoLines.stderr, /more than one line/);
    assert.ok(!(twoLines.stdout + twoLines.stderr).includes("secret\n") && !twoLines.stderr.includes("first-secret"));
  });
});

describe("tessera config check", () => {
  let keyFile: string;
  let kid: string;

  before(async () => {
    const generated = await tessera(["keys", "generate", "--alg", "EdDSA"]);
    assert.equal(generated.code, 0, generated.stderr);
    kid = /^kid: (\S+) \(EdDSA\)/.exec(generated.stderr)![1]!;
    keyFile = join(tmp, "check-signing-key.pem");
    await writeFile(keyFile, generated.stdout);
  });

  async function configFile(name: string, doc: Record<string, unknown>): Promise<string> {
    const file = join(tmp, name);
    await writeFile(file, JSON.stringify({ clients: [], ...doc }));
    return file;
  }

  test("a valid configuration with a key file: OK, the key's kid and the issuer, exit 0", async () => {
    const file = await configFile("check-ok.json", { issuer: "https://tessera.example", signing: { algorithm: "EdDSA", keyFile } });
    const ran = await tessera(["config", "check", "--config", file]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /^OK$/m);
    assert.match(ran.stdout, new RegExp(`kid ${kid} \\(EdDSA\\)`));
    assert.match(ran.stdout, /issuer: https:\/\/tessera\.example/);
  });

  test("an invalid field exits 78 naming it", async () => {
    const file = await configFile("check-invalid.json", { tokens: { lifetimeSeconds: "soon" } });
    const ran = await tessera(["config", "check", "-c", file]);
    assert.equal(ran.code, 78);
    assert.match(ran.stderr, /tokens\.lifetimeSeconds/);
    assert.equal(ran.stdout, "");
  });

  test("every problem at once: an unreadable key file and TLS file, a key of another algorithm; a wildcard host without issuer is a config error; exit 78", async () => {
    const missingKey = await configFile("check-missing-key.json", {
      issuer: "https://tessera.example",
      http: { host: "0.0.0.0", port: 8080, tls: { certFile: join(tmp, "no-cert.pem"), keyFile } },
      signing: { keyFile: join(tmp, "nope.pem") },
    });
    const wrongAlg = await configFile("check-wrong-alg.json", { issuer: "https://tessera.example", signing: { algorithm: "ES256", keyFile } });
    const wildcard = await configFile("check-wildcard.json", { http: { host: "0.0.0.0", port: 8080 }, signing: { keyFile } });
    const [a, b, c] = await Promise.all([
      tessera(["config", "check", "--config", missingKey]),
      tessera(["config", "check"], { TESSERA_CONFIG: wrongAlg }),
      tessera(["config", "check", "--config", wildcard]),
    ]);
    assert.equal(a.code, 78);
    assert.match(a.stderr, /error: http\.tls\.certFile: cannot read .*no-cert\.pem/);
    assert.match(a.stderr, /error: signing\.keyFile: cannot read signing key file .*nope\.pem/);
    assert.match(a.stderr, /2 problems/);
    assert.ok(!/^OK$/m.test(a.stdout));
    assert.equal(c.code, 78);
    assert.match(c.stderr, /issuer: must be set when http\.host is a wildcard address/);
    assert.equal(b.code, 78);
    assert.match(b.stderr, /error: signing\.keyFile: .* does not hold a ES256 private key/);
  });
});
