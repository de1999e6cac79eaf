// The bench's server processes run compiled JavaScript, as an installed Tessera runs its dist/, not
// the TypeScript through tsx: tsx transforms with esbuild's keepNames, which gives every named closure
// made per request an Object.defineProperty that the shipped build does not have. One tsc run compiles
// src/, gen/ and bench's servers into a directory of this run under bench/out/ (inside the checkout,
// so that the compiled files resolve node_modules as the sources do).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./processes.js";

/** Compiles the servers; returns the output directory and a function that removes it. */
export function compileBenchServers(): { dir: string; remove(): void } {
  const parent = join(REPO_ROOT, "bench/out");
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, "servers-"));
  try {
    execFileSync(process.execPath, [join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "-p", "bench/tsconfig.servers.json", "--outDir", dir], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 120_000,
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const output = err instanceof Error && "stdout" in err ? String((err as { stdout: unknown }).stdout) : "";
    throw new Error(`compiling the bench servers failed\n${output}`);
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
