// The README's walkthroughs, run as written: every ```sh test block, in order,
// in one bash session per server, against a fresh Tessera on free ports.
// `sh test` blocks run against dev mode (TESSERA, GRPC, SECRET are set);
// `sh test config=FILE` blocks against `tessera serve --config FILE`.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { REPO_ROOT, spawnTessera, type Spawned } from "../helpers/child-process.js";

interface Block {
  config: string | undefined;
  line: number;
  code: string;
}

function testBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const fence = /^```sh test(?: config=(\S+))?\n([\s\S]*?)^```$/gm;
  for (const match of markdown.matchAll(fence)) {
    blocks.push({ config: match[1], line: markdown.slice(0, match.index).split("\n").length, code: match[2]! });
  }
  return blocks;
}

const PORTS_0 = { TESSERA_HTTP_PORT: "0", TESSERA_GRPC_PORT: "0" };
const children: Spawned[] = [];
after(() => children.forEach((c) => c.kill()));

async function startServer(config: string | undefined): Promise<Record<string, string>> {
  if (config === undefined) {
    const child = spawnTessera(["serve"], PORTS_0);
    children.push(child);
    const [, secret, http, grpc] = (await child.waitFor("stdout", /client_secret=(\S+) .* http=(\S+) grpc=(\S+)\n/)) as unknown as string[];
    return { TESSERA: http!, GRPC: grpc!, SECRET: secret! };
  }
  const child = spawnTessera(["serve", "--config", config], PORTS_0);
  children.push(child);
  const [, http, grpc] = (await child.waitFor("stderr", /"msg":"tessera listening","http":"([^"]+)","grpc":"([^"]+)"/)) as unknown as string[];
  return { TESSERA: http!, GRPC: grpc! };
}

function runBash(script: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", script], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, PATH: `${join(REPO_ROOT, "node_modules/.bin")}:${process.env["PATH"]}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const blocks = testBlocks(readFileSync(join(REPO_ROOT, "README.md"), "utf8"));

describe("README walkthroughs", () => {
  test("the README has runnable walkthroughs for dev mode and the OAuth example", () => {
    assert.ok(blocks.filter((b) => b.config === undefined).length >= 5);
    assert.ok(blocks.filter((b) => b.config !== undefined).length >= 3);
  });

  for (const config of [...new Set(blocks.map((b) => b.config))]) {
    test(`blocks against ${config ?? "dev mode"} run and succeed, in order`, async () => {
      const env = await startServer(config);
      const mine = blocks.filter((b) => b.config === config);
      // Each block is announced, so that a failure names the README line.
      const script = ["set -euo pipefail", ...mine.map((b) => `echo "=== README.md:${b.line}" >&2\n${b.code}`)].join("\n");
      const { code, output } = await runBash(script, env);
      assert.equal(code, 0, `a README block failed:\n${output}`);
    });
  }
});
