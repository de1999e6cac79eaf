// The configuration blocks of docs/workload-identity.md and docs/token-exchange.md are valid
// configurations (the Pod manifest, the one block that is not, is skipped).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parse } from "yaml";
import { validateConfig } from "../../src/config/validate.js";
import { REPO_ROOT } from "../helpers/child-process.js";

function yamlBlocks(path: string): string[] {
  const text = readFileSync(`${REPO_ROOT}${path}`, "utf8");
  return [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

for (const page of ["docs/workload-identity.md", "docs/token-exchange.md"]) {
  test(`${page}: every Tessera configuration block validates`, () => {
    const blocks = yamlBlocks(page).filter((b) => !b.startsWith("apiVersion:"));
    assert.ok(blocks.length > 0);
    for (const block of blocks) {
      const doc = parse(block) as Record<string, unknown>;
      assert.doesNotThrow(() => validateConfig({ issuer: "https://tessera.example.com", ...doc }, {}, () => ""), block);
    }
  });
}
