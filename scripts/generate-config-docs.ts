// Renders docs/configuration.md and docs/tessera.schema.json from the
// configuration schema (src/config/schema.ts). `npm run docs:config` writes
// them; test/unit/config-docs.test.ts fails when the committed ones are stale.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { configSchema } from "../src/config/schema.js";
import { allFields, defOf, unwrap, type FieldEntry } from "../src/config/schema-walk.js";

export const CONFIG_DOCS_PATH = "docs/configuration.md";
export const JSON_SCHEMA_PATH = "docs/tessera.schema.json";

type Json = Record<string, unknown>;

function jsonOf(schema: z.core.$ZodType): Json {
  return z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Json;
}

function typeText(json: Json): string {
  if (Array.isArray(json.enum)) return `one of ${(json.enum as unknown[]).map((v) => `\`${String(v)}\``).join(", ")}`;
  if (json.const !== undefined) return `\`${String(json.const)}\``;
  const items = json.items as Json | undefined;
  switch (json.type) {
    case "integer":
      return `integer, ${String(json.minimum)}–${String(json.maximum)}`;
    case "boolean":
      return "true or false";
    case "string":
      return "string";
    case "array": {
      const count = json.minItems !== undefined || json.maxItems !== undefined ? ` (${json.minItems ?? 0}–${json.maxItems ?? "…"})` : "";
      return `list${count} of ${items ? typeText(items) : "values"}`;
    }
    case "object":
      return "section";
  }
  if (json.anyOf ?? json.oneOf) return "section (one of several forms)";
  return "value";
}

function fieldType(entry: FieldEntry): string {
  const inner = unwrap(entry.schema);
  const def = defOf(inner);
  if (def.type === "array" && def.element && ["object", "union"].includes(defOf(unwrap(def.element)).type)) return "list of sections";
  if (entry.path.at(-1) === "jwks") return "JWK Set";
  if (entry.path.at(-1) === "sentinels" || entry.path.at(-1) === "cluster") return "list (1–…) of host:port";
  return typeText(jsonOf(inner));
}

function defaultText(entry: FieldEntry): string {
  if (entry.meta.defaultText !== undefined) return entry.meta.defaultText;
  const def = defOf(entry.schema);
  if (def.type === "default") return `\`${JSON.stringify(def.defaultValue)}\``;
  if (def.type === "prefault") return "";
  return def.type === "optional" ? "—" : "required";
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** A configuration using most sections; the docs test validates it. */
export const CONFIG_EXAMPLE = `issuer: https://tessera.internal.example.com
http: { host: 0.0.0.0, port: 8080 }           # tls: { certFile, keyFile } for HTTPS
grpc: { host: 0.0.0.0, port: 9090 }
tokens: { lifetimeSeconds: 300, maxLifetimeSeconds: 3600 }
clients:
  - id: billing
    authMethod: client_secret_basic          # or client_secret_post
    secretHashes: ["sha256:47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"]  # \`tessera secret\` makes one
    grants:
      - audience: https://calendar.example.com
        scopes: [event.view, event.create]
  - id: calendar
    authMethod: private_key_jwt
    jwks: { keys: [ { kty: EC, crv: P-256, x: "...", y: "...", kid: calendar-1 } ] }
    audiences: [https://calendar.example.com]  # names it answers to as a resource server
    introspection: true                       # may introspect tokens issued for its audiences
  - id: reports
    authMethod: client_secret_jwt
    jwtSecret: env:REPORTS_JWT_SECRET         # or file:/run/secrets/reports; never the secret itself
    tokenLifetimeSeconds: 120
    grants:
      - audience: calendar                    # a client id is an audience too
        scopes: [event.view]
redis:
  url: redis://redis.internal:6379/0         # or sentinels + name, or cluster
`;

const HEADER = `# Configuration reference

<!-- Generated from src/config/schema.ts by \`npm run docs:config\`. Do not edit: edit the schema. -->

\`tessera serve --config tessera.yaml\` (or \`TESSERA_CONFIG=tessera.yaml\`) reads YAML or JSON. Every
field but \`clients\` has a default; the defaults are safe for one process on loopback. An unknown or bad
field stops the start with an error that names it and says what is wrong, without repeating the value
(it may be a secret):

\`\`\`text
invalid configuration: clients[1] (reports).grants[0].audience: must be a non-empty string
invalid configuration: clients[0] (billing).secretHash: unknown field; did you mean \`secretHashes\`?
\`\`\`

An environment variable in the *env* column overrides the file (an empty one counts as unset), and an
error in its value names the variable. \`REDIS_URL\` is a whole topology: it may not be combined with
\`redis.sentinels\`, \`redis.name\` or \`redis.cluster\` in the file; the other \`redis\` fields still apply.

## Example

\`\`\`yaml
${CONFIG_EXAMPLE}\`\`\`

Editors can complete and check \`tessera.yaml\` with the JSON Schema in [tessera.schema.json](tessera.schema.json)
(for the YAML language server: \`# yaml-language-server: $schema=./docs/tessera.schema.json\`).
`;

/** The Markdown reference: one table per top-level section, every field with its YAML path. */
export function renderConfigDocs(): string {
  const entries = allFields(configSchema);
  const out = [HEADER];
  const topLevel = entries.filter((e) => e.path.length === 1);
  const scalars = topLevel.filter((e) => !entries.some((other) => other.path.length > 1 && other.path[0]!.replace("[]", "") === e.path[0]));
  const row = (e: FieldEntry) => {
    const only = e.onlyFor !== undefined ? ` *(${e.onlyFor.map((m) => `\`${m}\``).join(", ")} only)*` : "";
    return `| \`${e.path.join(".")}\` | ${cell(fieldType(e))} | ${cell(defaultText(e))} | ${e.meta.env ? `\`${e.meta.env}\`` : ""} | ${cell(e.meta.description ?? "")}${only} |`;
  };
  const table = ["| field | type | default | env | description |", "|---|---|---|---|---|"];
  if (scalars.length > 0) out.push("## Top level\n", ...table, ...scalars.map(row), "");
  for (const section of topLevel.filter((e) => !scalars.includes(e))) {
    const name = section.path[0]!;
    const inside = entries.filter((e) => e.path.length > 1 && e.path[0]!.replace("[]", "") === name);
    out.push(
      `## \`${name}\`\n`,
      `${section.meta.description ?? ""}${defOf(section.schema).type === "optional" ? " Optional." : ""}\n`,
      ...table,
      ...inside.map(row),
      "",
    );
  }
  return `${out.join("\n").trimEnd()}\n`;
}

/** JSON Schema (draft 2020-12) of the configuration file, for editor completion. */
export function renderJsonSchema(): string {
  const schema = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as Json;
  // Our own metadata keys are for the Markdown page; strict JSON Schema tools refuse unknown keywords.
  const ours = new Set(["env", "envExcludes", "defaultText"]);
  return `${JSON.stringify({ ...schema, title: "Tessera configuration (tessera.yaml)" }, (key, value: unknown) => (ours.has(key) ? undefined : value), 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(CONFIG_DOCS_PATH, renderConfigDocs());
  writeFileSync(JSON_SCHEMA_PATH, renderJsonSchema());
  process.stdout.write(`wrote ${CONFIG_DOCS_PATH} and ${JSON_SCHEMA_PATH}\n`);
}
