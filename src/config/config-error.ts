/**
 * A configuration problem, naming the field at fault: `field` is its path
 * (`clients[1].grants[0].audience`) or the environment variable that set it;
 * the message names a client by id too (`clients[1] (reports).grants[0].audience`).
 * Messages never include the received value: it may be a secret.
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
