/**
 * A configuration problem, naming the field at fault: `field` is its path
 * (`clients[1].grants[0].audience`) or the environment variable that set it;
 * the message names a client by id too (`clients[1] (reports).grants[0].audience`).
 * Messages never include the received value: it may be a secret.
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
    readonly problem: string,
    readonly label: string = field,
  ) {
    super(`invalid configuration: ${label}: ${problem}`);
    this.name = "ConfigError";
  }
}
