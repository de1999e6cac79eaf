import { isoTimeFormatter } from "../../internal/iso-time.js";
import type { Logger } from "../../internal/logger.js";
import { noServiceEvents, type ServiceEvents } from "../../internal/service-events.js";
import type { AuditLog } from "./audit-log.js";
import type { ServerMetrics } from "./server-metrics.js";

/** What the observer reports to; each part is optional. */
export interface ServiceObserverTargets {
  metrics?: ServerMetrics | undefined;
  audit?: AuditLog | undefined;
  logger: Logger;
  now?: () => number;
}

/**
 * How many refused client authentications are logged per window: a flood of
 * bad credentials (many client ids or sources, each under the throttle) must
 * not flood the log. The audit stream and the metrics keep every one.
 */
export const REFUSAL_LOG_BUDGET = { lines: 20, windowMs: 10_000 } as const;

/**
 * The ServiceEvents the server wires into the core: each event goes to the
 * metrics, the audit stream and (refused authentications, key changes) the
 * log. A throttle block is audited once per (client, source) while it lasts.
 */
export function serviceObserver(targets: ServiceObserverTargets): ServiceEvents {
  const { metrics, audit, logger } = targets;
  const now = targets.now ?? Date.now;
  const m = metrics?.events ?? noServiceEvents;
  const blockedUntil = new Map<string, number>();
  const refusalLog = logBudget(logger, now);
  const expiresAt = isoTimeFormatter();
  return {
    tokenIssued: (e) => {
      m.tokenIssued(e);
      if (audit === undefined) return;
      const { workload, delegation } = e;
      // Absent parts are undefined fields, which the line leaves out.
      audit.record("token.issued", {
        client_id: e.clientId,
        audience: e.audience,
        scopes: e.scopes,
        jti: e.jti,
        kid: e.kid,
        grant_type: e.grantType,
        auth_method: e.authMethod,
        source: e.source,
        expires_at: expiresAt(e.expiresAt * 1000),
        workload_issuer: workload?.issuer,
        workload_subject: workload?.subject,
        sub: delegation?.subject,
        actors: delegation?.actors,
        subject_token_jti: delegation?.subjectTokenId,
      });
    },
    clientAuthRefused: (e) => {
      const fields = { client_id: e.claimedClientId, method: e.method, reason: e.reason, detail: e.detail, source: e.source };
      audit?.record("client_auth.refused", fields);
      refusalLog(fields);
    },
    tokenRevoked: (e) => {
      m.tokenRevoked(e);
      audit?.record("token.revoked", { client_id: e.clientId, jti: e.jti, audience: e.audience, source: e.source });
    },
    throttleBlocked: (e) => {
      m.throttleBlocked(e);
      const key = `${e.clientId}\u0000${e.source}`;
      const t = now();
      if ((blockedUntil.get(key) ?? 0) > t) return;
      for (const [k, until] of blockedUntil) if (until <= t) blockedUntil.delete(k);
      blockedUntil.set(key, t + e.retryAfterSeconds * 1000);
      audit?.record("throttle.blocked", { client_id: e.clientId, source: e.source, retry_after_seconds: e.retryAfterSeconds });
      logger.warn("failed client authentications throttled", { client_id: e.clientId, source: e.source, retry_after_seconds: e.retryAfterSeconds });
    },
    introspectionCache: (hit) => m.introspectionCache(hit),
    keyChanged: (e) => {
      audit?.record(`key.${e.change}`, { kid: e.kid, alg: e.alg, previous_kid: e.previousKid });
      logger.info(`signing key ${e.change}`, { kid: e.kid, ...(e.previousKid !== undefined ? { previous_kid: e.previousKid } : {}) });
    },
    watcherConnected: (stream) => m.watcherConnected(stream),
    revocationFeedLag: (seconds) => m.revocationFeedLag(seconds),
    redisLatency: (seconds) => m.redisLatency(seconds),
    redisCommand: (operation, seconds, ok) => m.redisCommand(operation, seconds, ok),
  };
}

/**
 * Logs "client authentication refused" up to REFUSAL_LOG_BUDGET.lines times per window and counts the
 * rest; the first refusal of a later window first logs how many went unlogged in the one before.
 */
function logBudget(logger: Logger, now: () => number): (fields: Record<string, unknown>) => void {
  let windowEnd = Number.NEGATIVE_INFINITY;
  let logged = 0;
  let unlogged = 0;
  return (fields) => {
    const t = now();
    if (t >= windowEnd) {
      if (unlogged > 0) {
        logger.warn("client authentication refusals not logged", { count: unlogged, window_seconds: REFUSAL_LOG_BUDGET.windowMs / 1000 });
      }
      windowEnd = t + REFUSAL_LOG_BUDGET.windowMs;
      logged = 0;
      unlogged = 0;
    }
    if (logged < REFUSAL_LOG_BUDGET.lines) {
      logged++;
      logger.warn("client authentication refused", fields);
    } else {
      unlogged++;
    }
  };
}
