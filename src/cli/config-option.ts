import { Option, type Command } from "commander";
import { commandPath } from "./command-path.js";
import { UsageError } from "./exit-codes.js";

/** `-c, --config <file>`, with TESSERA_CONFIG as fallback: the same option on every command that reads the configuration. */
export function configOption(description = "the configuration file (YAML or JSON) of the servers"): Option {
  return new Option("-c, --config <file>", description).env("TESSERA_CONFIG");
}

/**
 * The configuration file named by --config or TESSERA_CONFIG, or undefined when neither is given.
 * An empty TESSERA_CONFIG counts as unset; an empty --config is a usage error.
 */
export function configPathOf(command: Command): string | undefined {
  const value = command.opts<{ config?: string }>().config;
  if (value === undefined) return undefined;
  if (value !== "") return value;
  if (command.getOptionValueSource("config") === "env") return undefined;
  throw new UsageError("--config needs a file");
}

/** As configPathOf, for commands that cannot run without the configuration. */
export function requiredConfigPath(command: Command): string {
  const path = configPathOf(command);
  if (path === undefined) throw new UsageError(`${commandPath(command)} needs --config FILE (or TESSERA_CONFIG): the configuration of the servers`);
  return path;
}
