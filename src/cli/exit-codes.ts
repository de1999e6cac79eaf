import { CommanderError } from "commander";
import { ConfigError } from "../config/config-error.js";
import { KeyEncryptionError } from "../keys/key-sealing.js";

/** Exit codes of every command (sysexits.h where one fits). */
export const EXIT = {
  /** Done. */
  ok: 0,
  /** Any other failure: Redis does not answer, an operation refused, a server that failed to start. */
  failure: 1,
  /** Bad command line: unknown command or flag, missing argument or option. */
  usage: 2,
  /** EX_CONFIG: the configuration (file, environment, key files, TESSERA_KEK) is invalid or incomplete. */
  config: 78,
} as const;

/** A command line that cannot work, found after parsing (e.g. `--config ""`). */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** A configuration problem found by a command rather than by the config module (a missing TESSERA_KEK, a defaulted issuer). */
export class ConfigurationProblem extends Error {
  override readonly name = "ConfigurationProblem";
}

/** Ends the command with this exit code; the command has already said why. */
export class ExitWith extends Error {
  override readonly name = "ExitWith";
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

/** Commander's own exits: help and version are success, everything else a usage error. */
function commanderExitCode(err: CommanderError): number {
  if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return EXIT.ok;
  if (err.code === "commander.help" && err.exitCode === 0) return EXIT.ok;
  return EXIT.usage;
}

/** The exit code for an error that ended a command. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof ExitWith) return err.exitCode;
  if (err instanceof CommanderError) return commanderExitCode(err);
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof ConfigError || err instanceof ConfigurationProblem || err instanceof KeyEncryptionError) return EXIT.config;
  return EXIT.failure;
}

/** Whether the error was already reported to the user (by commander or by the command). */
export function alreadyReported(err: unknown): boolean {
  return err instanceof ExitWith || err instanceof CommanderError;
}

/**
 * What to print for an error that ended a command. grpc-js and Connect are
 * optional peer dependencies of the package (an application may use one of
 * them only), but the token service needs both: say which to install.
 */
export function failureMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const missing = /Cannot find package '(@grpc\/grpc-js|@connectrpc\/connect(?:-node)?)'/.exec(message);
  if ((err as { code?: unknown } | null)?.code === "ERR_MODULE_NOT_FOUND" && missing !== null) {
    return `${missing[1]} is not installed. The token service needs its peer dependencies:\n  npm install @grpc/grpc-js @connectrpc/connect @connectrpc/connect-node`;
  }
  return message;
}
