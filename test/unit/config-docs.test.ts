// docs/configuration.md and docs/tessera.schema.json are generated from the
// configuration schema; they must match it, and every field must be documented.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { configSchema } from "../../src/config/schema.js";
import { allFields } from "../../src/config/schema-walk.js";
import { ENV_FIELDS } from "../../src/config/env-overlay.js";
import { validateConfig } from "../../src/config/validate.js";
import { CONFIG_DOCS_PATH, CONFIG_EXAMPLE, JSON_SCHEMA_PATH, renderConfigDocs, renderJsonSchema } from "../../scripts/generate-config-docs.js";
import { REPO_ROOT } from "../helpers/child-process.js";

const committed = (path: string) => readFileSync(join(REPO_ROOT, path), "utf8");

describe("the generated configuration reference", () => {
  test("docs/configuration.md is up to date with the schema", () => {
    assert.ok(committed(CONFIG_DOCS_PATH) === renderConfigDocs(), `${CONFIG_DOCS_PATH} is stale: run npm run docs:config`);
  });

  test("docs/tessera.schema.json is up to date with the schema", () => {
    assert.ok(committed(JSON_SCHEMA_PATH) === renderJsonSchema(), `${JSON_SCHEMA_PATH} is stale: run npm run docs:config`);
  });

  test("every field has a description, and every environment override is on the page", () => {
    const undocumented = allFields(configSchema)
      .filter((f) => !f.meta.description)
      .map((f) => f.path.join("."));
    assert.deepEqual(undocumented, []);
    const page = renderConfigDocs();
    for (const field of ENV_FIELDS) assert.ok(page.includes(`\`${field.meta.env}\``), field.meta.env);
    assert.deepEqual(
      ENV_FIELDS.map((f) => f.meta.env),
      [
        "TESSERA_ISSUER",
        "TESSERA_HTTP_HOST",
        "TESSERA_HTTP_PORT",
        "TESSERA_GRPC_HOST",
        "TESSERA_GRPC_PORT",
        "TESSERA_TOKEN_LIFETIME",
        "TESSERA_SIGNING_ALG",
        "TESSERA_SIGNING_KEY_FILE",
        "REDIS_URL",
        "TESSERA_METRICS_HOST",
        "TESSERA_METRICS_PORT",
        "TESSERA_AUDIT_FILE",
      ],
    );
  });

  test("the page's example is a valid configuration", () => {
    const config = validateConfig(parse(CONFIG_EXAMPLE), {}, () => "s".repeat(32));
    assert.deepEqual(
      config.clients.map((c) => c.id),
      ["billing", "calendar", "reports"],
    );
    assert.ok(renderConfigDocs().includes(CONFIG_EXAMPLE));
  });
});
