// The public API is explicit and reviewed: every entry point's exports (name and kind) must match the
// committed api/public-api.md, so that an accidental export shows up in review as a change of that
// file. Every exported function and class has an @example, and no public declaration names one of
// our declarations that no entry point exports (a type users could see but not import).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { before, describe, test } from "node:test";
import { entryPoints, readPublicApi, renderReport, REPORT_PATH, type PublicApi } from "../helpers/public-api.js";

let api: PublicApi;
before(() => {
  api = readPublicApi();
});

describe("public API", () => {
  test("the entry points export what api/public-api.md lists (update with `npm run api:report`)", () => {
    const expected = readFileSync(REPORT_PATH, "utf8");
    const actual = renderReport(api);
    if (actual === expected) return;
    const was = new Set(expected.split("\n"));
    const now = new Set(actual.split("\n"));
    const diff = [...[...was].filter((l) => !now.has(l)).map((l) => `- ${l}`), ...[...now].filter((l) => !was.has(l)).map((l) => `+ ${l}`)];
    assert.fail(`the public API changed; if that is intended, run \`npm run api:report\` and commit api/public-api.md:\n${diff.join("\n")}`);
  });

  test("the report was read from every entry point", () => {
    const entries = new Set(api.exports.map((e) => e.entry));
    for (const entry of ["tessera", "tessera/client", "tessera/connect", "tessera/grpc", "tessera/server", "tessera/gen/tessera/v1/options_pb.js"]) {
      assert.ok(entries.has(entry), entry);
    }
    assert.ok(api.exports.some((e) => e.entry === "tessera/server" && e.name === "createTesseraServer" && e.kind === "function"));
  });

  test("entry files name every export: no `export *`", () => {
    for (const { entry, file } of entryPoints().filter((e) => !e.file.includes("/gen/"))) {
      assert.doesNotMatch(readFileSync(file, "utf8"), /^\s*export\s+(type\s+)?\*/m, entry);
    }
  });

  test("internals stay internal", () => {
    const names = new Set(api.exports.map((e) => e.name));
    for (const internal of [
      "KeyLayout",
      "RedisKeyRing",
      "RedisHealth",
      "RedisDenyList",
      "DEMO_CLIENT_ID",
      "SCOPE_TOKEN",
      "precheckAccessToken",
      "describeRequiredScopes",
      "PUBLIC_SERVICES",
      "IssuerContext",
      "KeyManager",
    ]) {
      assert.ok(!names.has(internal), `${internal} is exported`);
    }
    const root = new Set(api.exports.filter((e) => e.entry === "tessera").map((e) => e.name));
    assert.ok(!root.has("TokenSource") && !root.has("clientCredentialsFetcher"), "tessera/client is not re-exported from the root");
  });

  test("every exported function and class has an @example", () => {
    assert.deepEqual(api.missingExamples, []);
  });

  test("no public declaration names an unexported declaration of ours", () => {
    assert.deepEqual(api.unexportedReferences, []);
  });
});
