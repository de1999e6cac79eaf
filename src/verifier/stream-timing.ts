import type { FollowStreamOptions } from "../internal/followed-stream.js";

/** How a verifier's stream of the token service is timed: shared by the revocation feed and the key set. */
export interface StreamTimingOptions {
  /** The heartbeat assumed until a replica announces its own, in ms. Default 5000 (Tessera's default `watch.heartbeatMs`). */
  heartbeatMs?: number;
  /** How long opening a stream may take until its first message, in ms. Default 10000. */
  connectTimeoutMs?: number;
  /** First and longest wait before reopening a broken stream, in ms (doubling, with jitter). Default 100 and 5000. */
  minRetryDelayMs?: number;
  maxRetryDelayMs?: number;
}

/** Silence allowed beyond two announced heartbeats before a stream is treated as dead, in ms. */
const SILENCE_MARGIN_MS = 1000;

/**
 * The followStream timing of a stream whose messages announce the replica's
 * heartbeat: dead after two heartbeats and a second of silence, or after the
 * connect timeout before its first message.
 */
export function streamTiming<M extends { readonly heartbeatIntervalMs: number }>(
  options: StreamTimingOptions,
): Pick<FollowStreamOptions<unknown, M>, "silenceMs" | "minDelayMs" | "maxDelayMs"> {
  const heartbeatMs = options.heartbeatMs ?? 5000;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  return {
    silenceMs: (last) =>
      last === undefined ? connectTimeoutMs : 2 * (last.heartbeatIntervalMs > 0 ? last.heartbeatIntervalMs : heartbeatMs) + SILENCE_MARGIN_MS,
    ...(options.minRetryDelayMs !== undefined ? { minDelayMs: options.minRetryDelayMs } : {}),
    ...(options.maxRetryDelayMs !== undefined ? { maxDelayMs: options.maxRetryDelayMs } : {}),
  };
}
