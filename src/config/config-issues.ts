// From a schema issue or a failed check to a ConfigError: the path as the
// operator wrote it, the client named by id, the variable that set a value,
// and the nearest known field for a typo. Never the received value.
import type { z } from "zod";
import { ConfigError } from "./config-error.js";
import { configSchema } from "./schema.js";
import { objectFieldsAt } from "./schema-walk.js";

type Path = readonly PropertyKey[];

/** What names a field: the document (for client ids) and the variables applied over it. */
export interface IssueContext {
  doc: unknown;
  fromEnv: ReadonlyMap<string, string>;
}

/** `clients[1].grants[0].audience`; the root is `(root)`. */
export function formatPath(path: Path): string {
  let text = "";
  for (const segment of path) text += typeof segment === "number" ? `[${segment}]` : `${text ? "." : ""}${String(segment)}`;
  return text || "(root)";
}

const PRINTABLE_ID = /^[\x21-\x7E]{1,64}$/;

/** formatPath, with the client's id after `clients[i]` when it has a printable one. */
function labelPath(path: Path, doc: unknown): string {
  const label = formatPath(path);
  if (path[0] !== "clients" || typeof path[1] !== "number") return label;
  const clients = (doc as { clients?: unknown } | null)?.clients;
  const id = Array.isArray(clients) ? (clients[path[1]] as { id?: unknown } | null)?.id : undefined;
  if (typeof id !== "string" || !PRINTABLE_ID.test(id)) return label;
  const head = `clients[${path[1]}]`;
  return `${head} (${id})${label.slice(head.length)}`;
}

/** The name of the field at `path`: its path, or the environment variable that set it. */
export function fieldName(path: Path, context: IssueContext): string {
  const field = formatPath(path);
  return context.fromEnv.get(field) ?? field;
}

export function configError(path: Path, problem: string, context: IssueContext): ConfigError {
  const field = fieldName(path, context);
  return context.fromEnv.has(formatPath(path)) ? new ConfigError(field, problem) : new ConfigError(field, problem, labelPath(path, context.doc));
}

export function configErrorFromIssue(issue: z.core.$ZodIssue, context: IssueContext): ConfigError {
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0]!;
    return configError([...issue.path, key], unknownFieldProblem(issue.path, key, context.doc), context);
  }
  return configError(issue.path, issue.message, context);
}

function unknownFieldProblem(path: Path, key: string, doc: unknown): string {
  const fields = objectFieldsAt(configSchema, path, doc);
  if (fields.variant !== undefined && fields.all.includes(key)) return `is not used by ${fields.variant.value}`;
  const near = nearestField(key, fields.known);
  return near === undefined ? "unknown field" : `unknown field; did you mean \`${near}\`?`;
}

/** The known field a typo most likely meant: same letters but case, a prefix, or at most a third of it edited. */
export function nearestField(typed: string, known: readonly string[]): string | undefined {
  const lower = typed.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const c = candidate.toLowerCase();
    const distance = c === lower ? 0 : lower.length >= 3 && c.startsWith(lower) ? 1 : editDistance(lower, c);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return bestDistance <= Math.max(2, Math.floor(typed.length / 3)) ? best : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
