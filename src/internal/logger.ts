/** A minimal structured logger. Fields must never hold secrets or tokens. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

function line(level: string, message: string, fields?: Record<string, unknown>): string {
  return JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields });
}

/** Writes one JSON object per line to stderr. */
export const stderrLogger: Logger = {
  info: (m, f) => process.stderr.write(`${line("info", m, f)}\n`),
  warn: (m, f) => process.stderr.write(`${line("warn", m, f)}\n`),
  error: (m, f) => process.stderr.write(`${line("error", m, f)}\n`),
};

/** Discards everything (tests, embedding). */
export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };
