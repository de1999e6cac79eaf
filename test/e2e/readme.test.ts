// The walkthroughs of README.md and docs/**/*.md, run as written: every
// ```sh test block of a page, in order, in one bash session per page and
// server, against a fresh Tessera on free ports. `sh test` blocks run against
// dev mode (TESSERA, GRPC, SECRET are set); `sh test config=FILE` blocks
// against `tessera serve --config FILE`. Each page's blocks stand alone.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { logLine, REPO_ROOT, spawnTessera, type Spawned } from "../helpers/child-process.js";
import { docPages } from "../helpers/doc-pages.js";

interface Block {
  page: string;
  config: string | undefined;
  line: number;
  code: string;
}

function testBlocks(page: string, markdown: string): Block[] {
  const blocks: Block[] = [];
  const fence = /^```sh test(?: config=(\S+))?\n([\s\S]*?)^```$/gm;
  for (const match of markdown.matchAll(fence)) {
    blocks.push({ page, config: match[1], line: markdown.slice(0, match.index).split("\n").length, code: match[2]! });
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
  const { http, grpc } = (await logLine(child, "tessera listening")) as { http: string; grpc: string };
  return { TESSERA: http, GRPC: grpc };
}

function runBash(script: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", script], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, PATH: `${join(REPO_ROOT, "node_modules/.bin")}:${process.env.PATH}` },
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

const blocks = docPages().flatMap((page) => testBlocks(page.path, page.text));
const readme = blocks.filter((b) => b.page === "README.md");

describe("README and docs walkthroughs", () => {
  test("the README has a runnable dev-mode walkthrough, and the docs the OAuth one", () => {
    assert.ok(readme.filter((b) => b.config === undefined).length >= 5);
    assert.ok(blocks.filter((b) => b.page.startsWith("docs/") && b.config !== undefined).length >= 3);
  });

  const sessions = new Map<string, Block[]>();
  for (const block of blocks) {
    const key = `${block.page} against ${block.config ?? "dev mode"}`;
    sessions.set(key, [...(sessions.get(key) ?? []), block]);
  }
  for (const [name, mine] of sessions) {
    test(`${name}: the blocks run and succeed, in order`, async () => {
      const env = await startServer(mine[0]!.config);
      // Each block is announced, so that a failure names the page and line.
      const script = ["set -euo pipefail", ...mine.map((b) => `echo "=== ${b.page}:${b.line}" >&2\n${b.code}`)].join("\n");
      const { code, output } = await runBash(script, env);
      children.pop()?.kill(); // this page's server; after() kills it if the start failed midway
      assert.equal(code, 0, `a block of ${mine[0]!.page} failed:\n${output}`);
    });
  }
});
