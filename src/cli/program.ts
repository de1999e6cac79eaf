import { Command, Help } from "commander";
import { commandPath } from "./command-path.js";
import { clientsCommand } from "./clients.js";
import { configCommand } from "./config-check.js";
import { alreadyReported, exitCodeOf, failureMessage } from "./exit-codes.js";
import { keysCommand } from "./keys.js";
import { policyCommand } from "./policy-check.js";
import { secretCommand } from "./secret.js";
import { serveCommand } from "./serve.js";
import { packageVersion } from "../internal/package-version.js";

/**
 * The top-level help lists every command down to the leaves (`keys rotate`, `config check`), each
 * with its own usage, so that nothing a user can run is missing from `tessera --help`.
 */
function everyCommandHelp(): Partial<Help> {
  const base = new Help();
  return {
    visibleCommands: (cmd) =>
      base.visibleCommands(cmd).flatMap((c) => (c.commands.length > 0 ? base.visibleCommands(c).filter((sub) => sub.name() !== "help") : [c])),
    subcommandTerm: (cmd) => (cmd.parent?.parent ? `${cmd.parent.name()} ${base.subcommandTerm(cmd)}` : base.subcommandTerm(cmd)),
  };
}

/** Settings every command gets: errors thrown instead of exiting, and a pointer to the help after an error. */
function applyToAll(command: Command): void {
  command.exitOverride().showHelpAfterError(`(see: ${["tessera", commandPath(command)].filter(Boolean).join(" ")} --help)`);
  for (const sub of command.commands) applyToAll(sub);
}

/** The `tessera` program: every command's definition, as each command file exports it. */
export function tesseraProgram(): Command {
  const program = new Command("tessera")
    .description("Tessera token service: RFC 9068 access tokens for service-to-service calls over gRPC and OAuth 2.0")
    .version(packageVersion(), "-V, --version", "print the version")
    .configureHelp(everyCommandHelp())
    .addCommand(serveCommand())
    .addCommand(configCommand())
    .addCommand(secretCommand())
    .addCommand(keysCommand())
    .addCommand(clientsCommand())
    .addCommand(policyCommand())
    .addHelpText(
      "after",
      "\nexit codes: 0 done; 1 failure; 2 usage error (unknown command or flag, missing argument);\n" +
        "78 configuration error (invalid file, unreadable key file, missing TESSERA_KEK).\n" +
        "-c/--config FILE falls back to TESSERA_CONFIG on every command that reads the configuration.\n",
    );
  applyToAll(program);
  return program;
}

/** Runs the CLI on `argv` (without node and the script) and resolves to the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    await tesseraProgram().parseAsync([...argv], { from: "user" });
    return 0;
  } catch (err) {
    if (!alreadyReported(err)) process.stderr.write(`tessera: ${failureMessage(err)}\n`);
    return exitCodeOf(err);
  }
}
