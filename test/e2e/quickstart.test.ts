// The quickstart of README.md ("Protect a service") and docs/interceptors.md:
// the example files they show are the files in examples/quickstart (checked
// verbatim), and they run: two protected services, two clients with the
// token interceptors, against a Tessera on free ports.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { REPO_ROOT, childEnv } from "../helpers/child-process.js";
import { docPages, shownIn } from "../helpers/doc-pages.js";
import { secretOf, startMeshTessera, type MeshTessera } from "../helpers/mesh.js";

const FILES = ["calendar-connect.ts", "files-grpc.ts", "call-calendar.ts", "call-files.ts"];

interface Run {
  stdout: string;
  stderr: string;
  code: number | null;
}

const running: ReturnType<typeof spawn>[] = [];
after(() => running.forEach((c) => c.kill("SIGKILL")));

function runExample(file: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join("examples/quickstart", file)], { cwd: REPO_ROOT, env: childEnv(env) });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
  });
}

/** Starts a server example and resolves with what it printed as its address. */
function startExample(file: string, env: Record<string, string>, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join("examples/quickstart", file)], { cwd: REPO_ROOT, env: childEnv(env) });
    running.push(child);
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${file} did not start: ${out}`)), 30_000);
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      const match = pattern.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.once("exit", (code) => reject(new Error(`${file} exited with ${code}: ${out}`)));
  });
}

let tessera: MeshTessera;
before(async () => {
  tessera = await startMeshTessera();
});
after(() => tessera.server.stop());

describe("README quickstart", () => {
  test("the README and the docs show each example file verbatim, the README a server and a client", () => {
    const pages = docPages();
    const shown = (file: string, where = pages) => shownIn(where, `\`\`\`ts\n${readFileSync(join(REPO_ROOT, "examples/quickstart", file), "utf8")}\`\`\``);
    for (const file of FILES) assert.ok(shown(file), `README.md or a docs page must show examples/quickstart/${file} as it is`);
    const readme = pages.filter((p) => p.path === "README.md");
    assert.ok(shown("calendar-connect.ts", readme) && shown("call-calendar.ts", readme), "README.md must show the Connect server and client");
  });

  test("protected services on Connect and grpc-js, called by clients with the token interceptors", async () => {
    const issuer = tessera.server.issuer;
    const [calendarUrl, filesAddress] = await Promise.all([
      startExample("calendar-connect.ts", { TESSERA: issuer, PORT: "0", SERVICE_SECRET: secretOf("calendar") }, /calendar listening on (\S+)/),
      startExample("files-grpc.ts", { TESSERA: issuer, PORT: "0", SERVICE_SECRET: secretOf("files") }, /files listening on (\S+)/),
    ]);
    const env = { TESSERA: issuer, CALENDAR_URL: calendarUrl, FILES_ADDRESS: filesAddress, CLIENT_ID: "tasks", CLIENT_SECRET: secretOf("tasks") };
    const calendar = await runExample("call-calendar.ts", env);
    assert.equal(calendar.code, 0, calendar.stderr);
    assert.match(calendar.stdout, /created evt-1 as tasks; the calendar holds 1 event\(s\)/);
    const files = await runExample("call-files.ts", env);
    assert.equal(files.code, 0, files.stderr);
    assert.match(files.stdout, /created file-1 named tasks\/notes.txt/);

    // filer is not granted the calendar: its token request is refused, and the call with it.
    const denied = await runExample("call-calendar.ts", { ...env, CLIENT_ID: "filer", CLIENT_SECRET: secretOf("filer") });
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /permission_denied|PermissionDenied|not granted/i);
  });
});
