/** The small logging interface the service and its stores use. Fields must never hold secrets or tokens. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Discards everything (tests, embedding). */
export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };
