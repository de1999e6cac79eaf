/** A configuration problem, naming the field at fault (e.g. `clients[1].grants[0].audience`). */
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
