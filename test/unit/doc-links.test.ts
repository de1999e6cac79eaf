// Every link of README.md and docs/**/*.md stays inside the repository: a
// relative link names a file or directory of the repository (never one
// beyond it through ../, nor an absolute path), an anchor names a heading of
// its page; only https links leave, to standards and projects.
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import { REPO_ROOT } from "../helpers/child-process.js";
import { docPages } from "../helpers/doc-pages.js";

/** The page's text outside fenced code blocks and inline code spans. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, "").replace(/`[^`\n]*`/g, "");
}

/** Targets of inline links and images: [text](target "title"). */
function linkTargets(markdown: string): string[] {
  return [...prose(markdown).matchAll(/!?\[[^\]]*\]\(\s*<?([^\s)>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
}

/** GitHub's anchors for the headings of a page (github-slugger: lower case, punctuation dropped, spaces to hyphens, repeats numbered). */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, "").matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const text = heading!.replace(/\[([^\]]*)\]\([^)]*\)/g, "$1");
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
      .replace(/ /g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

const pages = docPages();

const anchorsOf = new Map(pages.map((p) => [p.path, headingAnchors(p.text)]));

function problem(page: string, target: string): string | undefined {
  if (/^https:\/\//.test(target)) return undefined;
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return "only https links may leave the repository";
  const [path, anchor] = target.split("#", 2) as [string, string | undefined];
  let file = page;
  if (path !== "") {
    if (isAbsolute(path)) return "an absolute path is not a file of the repository";
    const absolute = resolve(REPO_ROOT, dirname(page), decodeURIComponent(path));
    file = relative(REPO_ROOT, absolute);
    if (file.startsWith("..") || isAbsolute(file)) return "it leaves the repository";
    if (!existsSync(absolute)) return "no such file in the repository";
    if (statSync(absolute).isDirectory()) return anchor === undefined ? undefined : "an anchor on a directory";
  }
  if (anchor === undefined || !file.endsWith(".md")) return undefined;
  const anchors = anchorsOf.get(file) ?? headingAnchors(readFileSync(join(REPO_ROOT, file), "utf8"));
  return anchors.has(anchor) ? undefined : `no heading #${anchor} in ${file}`;
}

describe("documentation links", () => {
  test("the pages are README.md and the docs/ pages", () => {
    assert.ok(pages.length > 1 && pages[0]!.path === "README.md");
  });

  test("the checks catch what they should", () => {
    assert.deepEqual(linkTargets("a [x](../shared/DESIGN.md) `[y](z.md)` ![i](img.png)\n```\n[c](d.md)\n```\n"), ["../shared/DESIGN.md", "img.png"]);
    assert.equal(problem("README.md", "../shared/DESIGN.md"), "it leaves the repository");
    assert.equal(problem("docs/README.md", "../../etc/passwd"), "it leaves the repository");
    assert.equal(problem("README.md", "/etc/passwd"), "an absolute path is not a file of the repository");
    assert.equal(problem("README.md", "http://example.com/"), "only https links may leave the repository");
    assert.equal(problem("README.md", "docs/no-such-page.md"), "no such file in the repository");
    assert.equal(problem("README.md", "#no-such-heading"), "no heading #no-such-heading in README.md");
    assert.deepEqual(
      [...headingAnchors("# Protect a service in 10 lines\n## Errors\n## Errors\n### `tessera keys` & the KEK\n")],
      ["protect-a-service-in-10-lines", "errors", "errors-1", "tessera-keys--the-kek"],
    );
  });

  for (const page of pages) {
    test(`${page.path}: every link resolves inside the repository`, () => {
      const broken = linkTargets(page.text).flatMap((target) => {
        const why = problem(page.path, target);
        return why === undefined ? [] : [`${target}: ${why}`];
      });
      assert.deepEqual(broken, []);
    });
  }
});
