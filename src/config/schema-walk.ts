// Reading the schema itself: the environment overlay, error messages (known
// fields for a suggestion) and the generated reference walk it.
import { z } from "zod";
import type { FieldMeta } from "./schema.js";

type Schema = z.core.$ZodType;

interface Def {
  type: string;
  innerType?: Schema;
  in?: Schema;
  shape?: Record<string, Schema>;
  element?: Schema;
  options?: Schema[];
  discriminator?: string;
  values?: unknown[];
  entries?: Record<string, unknown>;
  defaultValue?: unknown;
  catchall?: Schema;
}

const WRAPPERS = new Set(["default", "prefault", "optional", "nullable", "readonly", "nonoptional", "catch"]);

export function defOf(schema: Schema): Def {
  return schema._zod.def as unknown as Def;
}

/** The schema under its defaults, optionals and transforms. */
export function unwrap(schema: Schema): Schema {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    if (WRAPPERS.has(def.type) && def.innerType) current = def.innerType;
    else if (def.type === "pipe" && def.in) current = def.in;
    else return current;
  }
}

export function metaOf(schema: Schema): Partial<FieldMeta> | undefined {
  return z.globalRegistry.get(schema) as Partial<FieldMeta> | undefined;
}

/** An object's fields; for a union, the variants' fields merged. */
export function fieldsOf(schema: Schema): Record<string, Schema> {
  const def = defOf(unwrap(schema));
  if (def.type === "object") return def.shape ?? {};
  if (def.type === "union") return Object.assign({}, ...(def.options ?? []).map(fieldsOf)) as Record<string, Schema>;
  return {};
}

/** The fields of the object a value is checked against, and of every other variant of its union. */
export interface ObjectFields {
  known: string[];
  all: string[];
  /** For a union: the discriminator and the value's variant, e.g. authMethod = client_secret_basic. */
  variant?: { discriminator: string; value: string };
}

function literalValues(schema: Schema): unknown[] {
  const def = defOf(unwrap(schema));
  return def.values ?? Object.values(def.entries ?? {});
}

function objectFields(schema: Schema, value: unknown): ObjectFields {
  const def = defOf(unwrap(schema));
  if (def.type !== "union" || def.discriminator === undefined) {
    const known = Object.keys(fieldsOf(schema));
    return { known, all: known };
  }
  const discriminator = def.discriminator;
  const given = typeof value === "object" && value !== null ? (value as Record<string, unknown>)[discriminator] : undefined;
  const option = (def.options ?? []).find((o) => literalValues(fieldsOf(o)[discriminator]!).includes(given));
  const all = Object.keys(fieldsOf(schema));
  if (option === undefined || typeof given !== "string") return { known: all, all };
  return { known: Object.keys(fieldsOf(option)), all, variant: { discriminator, value: given } };
}

/** Follows a path through the schema and the document to the object at its end. */
export function objectFieldsAt(root: Schema, path: readonly PropertyKey[], doc: unknown): ObjectFields {
  let schema = root;
  let value = doc;
  for (const segment of path) {
    const inner = unwrap(schema);
    const def = defOf(inner);
    if (def.type === "array" && def.element) {
      schema = def.element;
    } else {
      const field = fieldsOf(inner)[String(segment)];
      if (field === undefined) return { known: [], all: [] };
      schema = field;
    }
    value = typeof value === "object" && value !== null ? (value as Record<PropertyKey, unknown>)[segment as string] : undefined;
  }
  return objectFields(schema, value);
}

/** One documented field: its path (`clients[].grants[].audience`), schema and metadata. */
export interface FieldEntry {
  path: string[];
  schema: Schema;
  meta: Partial<FieldMeta>;
  /** In a union: the variants (discriminator values) that have this field, when not all do. */
  onlyFor?: string[];
}

/** Per field of a union, which variants have it, by their discriminator values. */
function variantsByField(schema: Schema): Map<string, string[]> | undefined {
  const def = defOf(unwrap(schema));
  if (def.type !== "union" || def.discriminator === undefined) return undefined;
  const byField = new Map<string, string[]>();
  for (const option of def.options ?? []) {
    const fields = fieldsOf(option);
    const names = literalValues(fields[def.discriminator]!).map(String);
    for (const key of Object.keys(fields)) byField.set(key, [...(byField.get(key) ?? []), ...names]);
  }
  return byField;
}

/** Every field of the schema, depth first, in declaration order (a union's variants merged). */
export function allFields(schema: Schema, path: string[] = []): FieldEntry[] {
  const entries: FieldEntry[] = [];
  const variants = variantsByField(schema);
  const discriminator = defOf(unwrap(schema)).discriminator;
  const allVariants = discriminator !== undefined ? variants?.get(discriminator) : undefined;
  for (const [key, field] of Object.entries(fieldsOf(schema))) {
    const fieldPath = [...path, key];
    if (key === discriminator && allVariants !== undefined) {
      // The merged shape holds one variant's literal: document the choice among all of them.
      entries.push({ path: fieldPath, schema: z.enum(allVariants as [string, ...string[]]), meta: metaOf(field) ?? {} });
      continue;
    }
    const onlyFor = variants?.get(key);
    entries.push({
      path: fieldPath,
      schema: field,
      meta: metaOf(field) ?? {},
      ...(onlyFor !== undefined && allVariants !== undefined && onlyFor.length < allVariants.length ? { onlyFor } : {}),
    });
    const inner = unwrap(field);
    const def = defOf(inner);
    // A loose object (a JWK Set) is one value, documented as a whole.
    const loose = def.catchall !== undefined && defOf(def.catchall).type !== "never";
    if ((def.type === "object" && !loose) || def.type === "union") entries.push(...allFields(inner, fieldPath));
    if (def.type === "array" && def.element) {
      const elementDef = defOf(unwrap(def.element));
      if (elementDef.type === "object" || elementDef.type === "union") entries.push(...allFields(def.element, [...path, `${key}[]`]));
    }
  }
  return entries;
}
