// The service's log: pino, one JSON object per line (`level`, `time`, fields, `msg`), written
// synchronously so that the last lines before an exit are not lost. Only the CLI loads it: a library
// that embeds the server passes a Logger of its own.
import { format } from "node:util";
import { type DestinationStream, pino } from "pino";
import type { Logger } from "./logger.js";

/** A Logger writing JSON lines to `destination` (default: standard error, synchronously). */
export function jsonLogger(destination: DestinationStream = pino.destination({ dest: 2, sync: true })): Logger {
  const log = pino(
    {
      base: null,
      messageKey: "msg",
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  return {
    info: (message, fields) => (fields === undefined ? log.info(message) : log.info(fields, message)),
    warn: (message, fields) => (fields === undefined ? log.warn(message) : log.warn(fields, message)),
    error: (message, fields) => (fields === undefined ? log.error(message) : log.error(fields, message)),
  };
}

let shared: Logger | undefined;
const stderr = () => (shared ??= jsonLogger());

/** The process's JSON log on standard error, made on first use. */
export const stderrLogger: Logger = {
  info: (message, fields) => stderr().info(message, fields),
  warn: (message, fields) => stderr().warn(message, fields),
  error: (message, fields) => stderr().error(message, fields),
};

/**
 * Sends what dependencies print with console.warn (ioredis: a password Redis does not require,
 * a skipped ready check) into `logger` as warn lines with `source: "console"`, so that standard
 * error stays one JSON object per line. For a process Tessera owns (`tessera serve`).
 */
export function routeConsoleWarnings(logger: Logger): void {
  console.warn = (...args: unknown[]) => logger.warn(format(...args), { source: "console" });
}
