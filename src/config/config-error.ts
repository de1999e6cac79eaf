/**
 * A configuration problem, naming the field at fault (e.g. `clients[1].grants[0].audience`).
 *
 * @example
 * ```ts
 * import { ConfigError, loadConfigFile } from "tessera/server";
 *
 * try {
 *   loadConfigFile("tessera.yaml");
 * } catch (err) {
 *   if (err instanceof ConfigError) console.error(err.field, err.message); // e.g. clients[1].grants[0].audience
 *   process.exitCode = 78;
 * }
 * ```
 */
export class ConfigError extends Error {
  readonly code = "ERR_CONFIG";
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`invalid configuration: ${field}: ${problem}`);
    this.name = "ConfigError";
  }
}
