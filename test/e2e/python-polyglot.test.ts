// Polyglot clients: the Python examples (examples/python) against the example
// mesh (examples/mesh/serve.ts, Tessera and the services on free loopback
// ports). The Python code is generated here, into a temporary directory, from
// our protos alone, with Debian's protoc 3.21 and gRPC Python plugin; the
// scripts run with Debian's python3 (python3-grpcio, python3-protobuf,
// python3-authlib, python3-jwt), installed by scripts/ensure-test-deps.sh.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { REPO_ROOT, childEnv, killUnfinished, runToEnd, type Finished } from "../helpers/child-process.js";
import { docPages, shownIn } from "../helpers/doc-pages.js";

/** Debian's interpreter: the one with the Debian packages (not a pyenv python3 first on PATH). */
const PYTHON = "/usr/bin/python3";

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<Finished> {
  return runToEnd(command, args, { env, timeoutMs });
}

let generated: string;
let mesh: ChildProcess | undefined;
let meshEnv: Record<string, string>;

/** Starts examples/mesh/serve.ts; resolves with the variables of the mesh.env it writes. */
function startMesh(timeoutMs = 30_000): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "examples/mesh/serve.ts"], {
      cwd: REPO_ROOT,
      env: childEnv({}),
      stdio: ["ignore", "pipe", "pipe"],
    });
    mesh = child;
    let out = "";
    const timer = setTimeout(() => reject(new Error(`the mesh did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (c: Buffer) => {
      out += c.toString();
      const match = /mesh ready: source (\S+)\n/.exec(out);
      if (match === null) return;
      clearTimeout(timer);
      const env: Record<string, string> = {};
      for (const [, key, value] of readFileSync(match[1]!, "utf8").matchAll(/^export (\w+)=(.*)$/gm)) env[key!] = value!;
      resolve(env);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the mesh exited with ${code}:\n${out}`));
    });
  });
}

/** Runs a script of examples/python with the generated code on PYTHONPATH and only the variables given. */
function python(args: string[], env: Record<string, string>): Promise<Finished> {
  return run(PYTHON, args, { PATH: "/usr/bin:/bin", PYTHONPATH: generated, PYTHONDONTWRITEBYTECODE: "1", ...env });
}

before(async () => {
  generated = mkdtempSync(join(tmpdir(), "tessera-py-"));
  const [generate, env] = await Promise.all([run("bash", ["examples/python/generate.sh", generated], process.env), startMesh()]);
  assert.equal(generate.code, 0, generate.stderr);
  meshEnv = env;
});

after(async () => {
  killUnfinished();
  if (mesh !== undefined && mesh.exitCode === null && mesh.signalCode === null) {
    // SIGTERM: the mesh stops and removes its temporary configuration; SIGKILL if it does not within 5 s.
    const exited = new Promise((resolve) => mesh!.once("exit", resolve));
    mesh.kill("SIGTERM");
    const timer = setTimeout(() => mesh!.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
  if (generated !== undefined) rmSync(generated, { recursive: true, force: true });
});

describe("Python clients generated from our protos", () => {
  test("grpc_client.py: scopes from the method options, IssueToken over gRPC, allowed and PERMISSION_DENIED on FilesService", async () => {
    const { code, stdout, stderr } = await python(["examples/python/grpc_client.py"], {
      GRPC: meshEnv.GRPC!,
      FILES: meshEnv.FILES!,
      CLIENT_ID: "auditor",
      CLIENT_SECRET: meshEnv.AUDITOR_SECRET!,
    });
    assert.equal(code, 0, stderr);
    assert.equal(
      stdout,
      [
        "FilesService/GetFile requires file.view for example.files.v1.FilesService",
        "FilesService/DeleteFile requires file.delete for example.files.v1.FilesService",
        "IssueToken: Bearer token for example.files.v1.FilesService, scopes file.view",
        "GetFile: allowed, launch-plan.md",
        "DeleteFile: PERMISSION_DENIED, insufficient_scope, required file.delete",
        "",
      ].join("\n"),
    );
  });

  test("auth_rule resolves like the interceptors: method rule, service default, any_of, audience", async () => {
    const script = [
      "import sys; sys.path.insert(0, 'examples/python')",
      "from grpc_client import auth_rule",
      "from example.calendar.v1 import calendar_pb2",
      "service = calendar_pb2.DESCRIPTOR.services_by_name['CalendarService']",
      "for name in ('ListEvents', 'CreateEvent', 'DeleteEvent'): print(name, *auth_rule(service, name))",
    ].join("\n");
    const { code, stdout, stderr } = await python(["-c", script], {});
    assert.equal(code, 0, stderr);
    assert.equal(
      stdout,
      [
        "ListEvents example.calendar.v1.CalendarService ['event.view']",
        "CreateEvent example.calendar.v1.CalendarService ['event.create']",
        "DeleteEvent example.calendar.v1.CalendarService ['event.delete', 'calendar.owner']",
        "",
      ].join("\n"),
    );
  });

  test("oauth_client.py: authlib private_key_jwt at /oauth2/token, PyJWT verification with the JWKS, the token on CalendarService", async () => {
    const { code, stdout, stderr } = await python(["examples/python/oauth_client.py"], {
      TESSERA: meshEnv.TESSERA!,
      CALENDAR: meshEnv.CALENDAR!,
      CLIENT_ID: "reporter",
      KEY_FILE: meshEnv.REPORTER_KEY!,
      KEY_ID: meshEnv.REPORTER_KID!,
    });
    assert.equal(code, 0, stderr);
    const issuer = meshEnv.TESSERA!;
    assert.equal(
      stdout,
      [
        "token endpoint: Bearer token, scope event.view, expires in 300 s",
        `verified: typ at+jwt, iss ${issuer}, aud example.calendar.v1.CalendarService, client_id reporter, scope event.view`,
        "CalendarService/ListEvents: allowed, 0 event(s)",
        "",
      ].join("\n"),
    );
  });

  test("the mesh's tasks has no secret: its workload token file, as client_assertion from Python's standard library", async () => {
    assert.equal(meshEnv.TASKS_SECRET, undefined, "tasks has no secret in mesh.env");
    const script = [
      "import json, os, urllib.parse, urllib.request",
      "with open(os.environ['TASKS_TOKEN_FILE']) as f: assertion = f.read().strip()",
      "form = urllib.parse.urlencode({'grant_type': 'client_credentials', 'audience': 'example.files.v1.FilesService',",
      "  'client_assertion_type': 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', 'client_assertion': assertion}).encode()",
      "with urllib.request.urlopen(os.environ['TESSERA'] + '/oauth2/token', form, timeout=5) as res: print(json.load(res)['scope'])",
    ].join("\n");
    const { code, stdout, stderr } = await python(["-c", script], { TESSERA: meshEnv.TESSERA!, TASKS_TOKEN_FILE: meshEnv.TASKS_TOKEN_FILE! });
    assert.equal(code, 0, stderr);
    assert.equal(stdout, "file.view\n");
  });

  test("the docs show the Python snippets and the protoc command as they are in examples/python", () => {
    const pages = docPages();
    for (const file of ["grpc_client.py", "oauth_client.py"]) {
      const source = readFileSync(join(REPO_ROOT, "examples/python", file), "utf8");
      const regions = [...source.matchAll(/^# \[START (\w+)\]\n([\s\S]*?)^# \[END \1\]\n/gm)];
      assert.ok(regions.length >= 2, `${file} marks the regions the docs show`);
      for (const [, name, text] of regions) assert.ok(shownIn(pages, text!), `a docs page must show the region ${name} of examples/python/${file} as it is`);
    }
    const protoc = /^protoc [\s\S]*?[^\\]\n/m.exec(readFileSync(join(REPO_ROOT, "examples/python/generate.sh"), "utf8"))?.[0];
    assert.ok(protoc !== undefined && shownIn(pages, protoc), "a docs page must show the protoc command of examples/python/generate.sh");
  });
});
