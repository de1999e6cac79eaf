// The repository's documentation pages: README.md and every docs/**/*.md,
// the files whose code blocks run as tests and whose links are checked.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { REPO_ROOT } from "./child-process.js";

export interface DocPage {
  /** Path from the repository root, e.g. "docs/redis.md". */
  readonly path: string;
  readonly text: string;
}

function markdownUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return markdownUnder(path);
    return entry.isFile() && entry.name.endsWith(".md") ? [path] : [];
  });
}

/** README.md first, then the docs/ pages in path order. */
export function docPages(): DocPage[] {
  const docs = markdownUnder(join(REPO_ROOT, "docs"))
    .map((p) => relative(REPO_ROOT, p))
    .sort();
  return ["README.md", ...docs].map((path) => ({ path, text: readFileSync(join(REPO_ROOT, path), "utf8") }));
}

/** Whether `text` appears verbatim in one of the pages. */
export function shownIn(pages: readonly DocPage[], text: string): boolean {
  return pages.some((page) => page.text.includes(text));
}
