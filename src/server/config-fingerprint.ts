import { createHash } from "node:crypto";
import type { TesseraConfig } from "../config/types.js";
import type { Clock } from "../internal/clock.js";
import type { Logger } from "../internal/logger.js";
import type { ServiceEvents } from "../internal/service-events.js";
import { randomToken } from "../internal/random.js";
import { RedisConfigFingerprints } from "../store/redis/config-fingerprints.js";
import type { SharedState } from "./shared-state.js";

/** How often each replica publishes its fingerprint and compares it with the others'. */
const INTERVAL_MS = 60_000;

/**
 * A digest of what makes replicas behave alike: the effective configuration
 * without what may differ per replica (listener addresses) and without any
 * secret (a client's jwtSecret, the Redis settings), so that the digest says
 * nothing of them.
 */
export function configFingerprint(config: TesseraConfig): string {
  const { redis: _redis, http, grpc, clients, ...rest } = config;
  const shared = {
    ...rest,
    http: { ...http, host: undefined, port: undefined },
    grpc: { ...grpc, host: undefined, port: undefined },
    clients: clients.map(({ jwtSecret, ...client }) => ({ ...client, jwtSecret: jwtSecret === undefined ? undefined : "(set)" })),
  };
  return createHash("sha256").update(JSON.stringify(shared)).digest("base64url").slice(0, 16);
}

/** Publishes this replica's fingerprint in Redis and warns when another live replica's differs. */
export interface FingerprintFollower {
  /** After a reload. */
  update(config: TesseraConfig): void;
  stop(): Promise<void>;
}

export function followConfigFingerprint(
  state: SharedState,
  config: TesseraConfig,
  clock: Clock,
  logger: Logger,
  events?: ServiceEvents,
): FingerprintFollower | undefined {
  const redis = state.redis;
  if (redis === undefined) return undefined;
  const prints = new RedisConfigFingerprints(redis.client, redis.keys, redis.commandTimeoutMs, events);
  const replicaId = randomToken(9);
  let mine = configFingerprint(config);
  let warned = "";
  const check = async () => {
    const others = await prints.publish(replicaId, mine, clock.now());
    const differing = others.filter((print) => print !== mine).sort();
    const key = differing.join(",");
    if (differing.length > 0 && key !== warned) {
      logger.warn("this replica's configuration differs from other replicas'", { fingerprint: mine, others: differing });
    }
    warned = key;
  };
  const run = () => void check().catch(() => {});
  run();
  const timer = setInterval(run, INTERVAL_MS);
  timer.unref();
  return {
    update: (next) => {
      mine = configFingerprint(next);
      warned = "";
      run();
    },
    stop: async () => {
      clearInterval(timer);
      await prints.withdraw(replicaId);
    },
  };
}
