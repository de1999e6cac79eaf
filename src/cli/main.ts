#!/usr/bin/env node
import { ConfigError } from "../config/config-error.js";
import { keys } from "./keys.js";
import { secret } from "./secret.js";
import { serve } from "./serve.js";

const USAGE = `usage: tessera <command>

commands:
  serve [--config FILE]   run the token service (no FILE: dev mode with a demo client)
  secret                  generate a client secret and its hash for the configuration
  keys generate|kek       generate a signing key (PEM) or a key-encryption key
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      await serve(rest);
      return 0;
    case "secret":
      secret();
      return 0;
    case "keys":
      return keys(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command: ${command}\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const message = err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err);
    process.stderr.write(`tessera: ${message}\n`);
    process.exit(1);
  },
);
