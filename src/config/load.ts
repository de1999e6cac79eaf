import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { osReason } from "../internal/os-reason.js";
import { ConfigError } from "./config-error.js";
import { validateConfig, type SecretResolver } from "./validate.js";
import type { TesseraConfig } from "./types.js";

/**
 * Resolves `env:NAME` from the environment and `file:PATH` from a file (trailing newline trimmed).
 *
 * @example
 * ```ts
 * import { secretResolver, validateConfig } from "tessera/server";
 *
 * const resolve = secretResolver(process.env);
 * resolve("env:FILES_JWT_SECRET", "clients[0].jwtSecret"); // the variable's value, or a ConfigError naming the field
 * ```
 */
export function secretResolver(env: NodeJS.ProcessEnv): SecretResolver {
  return (reference, field) => {
    if (reference.startsWith("env:")) {
      const value = env[reference.slice(4)];
      if (!value) throw new ConfigError(field, `environment variable ${reference.slice(4)} is not set`);
      return value;
    }
    const path = reference.slice(5);
    try {
      return readFileSync(path, "utf8").replace(/\r?\n$/, "");
    } catch (err) {
      throw new ConfigError(field, `cannot read ${path}${osReason(err)}`);
    }
  };
}

/**
 * Reads a YAML or JSON configuration file, applies environment overrides and validates it.
 *
 * @example
 * ```ts
 * import { createTesseraServer, loadConfigFile } from "tessera/server";
 *
 * const config = loadConfigFile("tessera.yaml"); // TESSERA_* and REDIS_URL from process.env override the file
 * const server = await createTesseraServer({ config });
 * ```
 */
export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): TesseraConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError("--config", `cannot read ${path}${osReason(err)}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ConfigError("--config", `${path} is not valid YAML or JSON: ${(err as Error).message.split("\n")[0]}`);
  }
  return validateConfig(doc ?? {}, env, secretResolver(env));
}
