#!/usr/bin/env node
// The tessera CLI. In a checkout (src/ present) it runs the TypeScript through tsx's loader, so that
// no build step stands between an edit and a run; an installed package has only the compiled dist/.
import { existsSync } from "node:fs";

const source = new URL("../src/cli/main.ts", import.meta.url);
if (existsSync(source)) {
  const { register } = await import("tsx/esm/api");
  register();
  await import(source.href);
} else {
  // Missing peer dependencies are explained by the CLI itself (src/cli/exit-codes.ts).
  await import(new URL("../dist/src/cli/main.js", import.meta.url).href);
}
