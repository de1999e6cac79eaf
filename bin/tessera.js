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
  try {
    await import(new URL("../dist/src/cli/main.js", import.meta.url).href);
  } catch (err) {
    // grpc-js and Connect are optional peer dependencies (an application may use one of them only);
    // the token service needs both.
    const missing = /Cannot find package '(@grpc\/grpc-js|@connectrpc\/connect(?:-node)?)'/.exec(String(err?.message));
    if (err?.code !== "ERR_MODULE_NOT_FOUND" || missing === null) throw err;
    process.stderr.write(
      `tessera: ${missing[1]} is not installed. The token service needs its peer dependencies:\n` +
        "  npm install @grpc/grpc-js @connectrpc/connect @connectrpc/connect-node\n",
    );
    process.exit(1);
  }
}
