import { type Attributes, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { Cluster } from "ioredis";
import { TemporarilyUnavailableError } from "../../errors/tessera-error.js";
import { tracer } from "../../internal/library-telemetry.js";
import { noServiceEvents, type ServiceEvents } from "../../internal/service-events.js";
import type { RedisClient } from "./redis-client.js";

/** Seconds a client is told to wait (Retry-After) when Redis is unavailable. */
export const REDIS_RETRY_AFTER_SECONDS = 1;

/** One kind of Redis call a store makes (a bounded name, e.g. `deny_list.check`), and who observes it. Made once, used per call. */
export interface RedisOperation {
  readonly name: string;
  readonly events: ServiceEvents;
  readonly attributes: Attributes;
}

/** The operation `name` (a metric label and span name: keep the set fixed in code), reported to `events`. */
export function redisOperation(name: string, events: ServiceEvents | undefined): RedisOperation {
  return { name, events: events ?? noServiceEvents, attributes: Object.freeze({ "db.system": "redis", "db.operation.name": name }) };
}

/** The operations of one store, by the names its code uses. */
export function redisOperations<K extends string>(events: ServiceEvents | undefined, names: Record<K, string>): Record<K, RedisOperation> {
  return Object.fromEntries(Object.entries<string>(names).map(([key, name]) => [key, redisOperation(name, events)])) as Record<K, RedisOperation>;
}

/**
 * Runs one Redis operation with a deadline. Any failure (connection refused or
 * lost, timeout, an error reply such as CLUSTERDOWN or READONLY) becomes
 * TemporarilyUnavailableError: callers answer 503 / UNAVAILABLE, never a
 * security answer. The deadline holds even for a client given with an offline
 * queue: the request does not wait for the queue.
 *
 * Its duration is reported to the operation's ServiceEvents (the command
 * latency histogram), and it runs in a span only under a recording span (an
 * OAuth endpoint's or an RPC's, with an SDK registered): without one it
 * costs two clock reads.
 */
export async function redisCall<T>(operation: RedisOperation, run: () => Promise<T>, deadlineMs: number): Promise<T> {
  const parent = trace.getActiveSpan();
  const span = parent?.isRecording() ? tracer().startSpan(`redis ${operation.name}`, { kind: SpanKind.CLIENT, attributes: operation.attributes }) : undefined;
  const started = performance.now();
  let ok = false;
  try {
    const result = await withDeadline(run, deadlineMs);
    ok = true;
    return result;
  } catch (err) {
    span?.setStatus({ code: SpanStatusCode.ERROR, message: "redis unavailable" });
    if (err instanceof TemporarilyUnavailableError) throw err;
    throw new TemporarilyUnavailableError("shared state (Redis) is unavailable, retry later", REDIS_RETRY_AFTER_SECONDS);
  } finally {
    operation.events.redisCommand(operation.name, (performance.now() - started) / 1000, ok);
    span?.end();
  }
}

/** Runs `run`, rejecting when it has not settled within `deadlineMs` (0: `run` bounds itself). */
export async function withDeadline<T>(run: () => Promise<T>, deadlineMs: number): Promise<T> {
  if (deadlineMs <= 0) return run();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${deadlineMs} ms`)), deadlineMs);
  });
  try {
    return await Promise.race([run(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The deadline redisCall must add to a command of `client`: 0 when the
 * client already fails every command within `deadlineMs` by itself (its own
 * commandTimeout, and no offline queue to wait in, as createRedisClient and
 * fastFailOptions set up), which spares a timer per command on the hot paths.
 */
export function addedDeadline(client: RedisClient, deadlineMs: number): number {
  const options = client instanceof Cluster ? { ...client.options.redisOptions, enableOfflineQueue: client.options.enableOfflineQueue } : client.options;
  const own = options.commandTimeout;
  return options.enableOfflineQueue === false && own !== undefined && own > 0 && own <= deadlineMs ? 0 : deadlineMs;
}
