#!/usr/bin/env node
import { runCli } from "./program.js";

// process.exit: a command is done when its action resolves, whatever handles a library left open.
process.exit(await runCli(process.argv.slice(2)));
