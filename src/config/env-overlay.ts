// Environment variables over the file: which variable sets which field is
// declared in the schema (`meta({ env })`); this applies them.
import { ConfigError } from "./config-error.js";
import { configSchema } from "./schema.js";
import { allFields, defOf, unwrap, type FieldEntry } from "./schema-walk.js";

/** The environment, or the part of it Tessera reads. An empty variable counts as unset. */
export type EnvOverrides = Readonly<Record<string, string | undefined>>;

/** Every field an environment variable overrides, in schema order. */
export const ENV_FIELDS: readonly (FieldEntry & { meta: { env: string } })[] = allFields(configSchema).filter(
  (f): f is FieldEntry & { meta: { env: string } } => f.meta.env !== undefined && !f.path.some((p) => p.endsWith("[]")),
);

export interface Overlaid {
  /** The document with the variables applied (the input is not modified). */
  doc: unknown;
  /** Field path (`http.port`) → the variable that set it, to name it in errors. */
  fromEnv: ReadonlyMap<string, string>;
}

type Obj = Record<string, unknown>;
const isObj = (value: unknown): value is Obj => typeof value === "object" && value !== null && !Array.isArray(value);

export function overlayEnv(doc: unknown, env: EnvOverrides): Overlaid {
  const fromEnv = new Map<string, string>();
  if (!isObj(doc)) return { doc, fromEnv };
  const root: Obj = { ...doc };
  for (const field of ENV_FIELDS) {
    const name = field.meta.env;
    const value = env[name];
    if (!value) continue;
    let parent: Obj | undefined = root;
    for (const key of field.path.slice(0, -1)) {
      const existing: unknown = parent[key] ?? {};
      if (!isObj(existing)) {
        parent = undefined; // not a section: the schema names it
        break;
      }
      parent = parent[key] = { ...existing };
    }
    if (parent === undefined) continue;
    for (const excluded of field.meta.envExcludes ?? []) {
      if (parent[excluded] !== undefined) {
        throw new ConfigError(name, `conflicts with ${[...field.path.slice(0, -1), excluded].join(".")} in the configuration file`);
      }
    }
    const numeric = defOf(unwrap(field.schema)).type === "number";
    parent[field.path.at(-1)!] = numeric && /^\d+$/.test(value) ? Number(value) : value;
    fromEnv.set(field.path.join("."), name);
  }
  return { doc: root, fromEnv };
}
