import type { TesseraConfig } from "../../config/types.js";
import type { Clock } from "../../internal/clock.js";
import type { Logger } from "../../internal/logger.js";
import { osReason } from "../../internal/os-reason.js";
import type { ServiceEvents } from "../../internal/service-events.js";
import { packageVersion } from "../../internal/package-version.js";
import { AuditLog, fileAuditSink, stdoutAuditSink } from "./audit-log.js";
import { startMetricsListener, type MetricsListener } from "./metrics-listener.js";
import { ServerMetrics } from "./server-metrics.js";
import { serviceObserver } from "./service-observer.js";

/** The server's metrics, audit stream and the ServiceEvents that feed them, as configured. */
export interface ServerObservability {
  readonly events: ServiceEvents;
  /** Undefined when metrics are off. */
  readonly metrics: ServerMetrics | undefined;
  readonly audit: AuditLog | undefined;
  /** Starts the metrics listener; a port that cannot be bound is logged, never fatal (metrics must not stop the service). */
  listen(): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Builds what config.metrics and config.audit ask for; opens the audit file now (an unwritable path stops the start). */
export function serverObservability(config: TesseraConfig, logger: Logger, clock: Clock): ServerObservability {
  const metrics = config.metrics.enabled ? new ServerMetrics({ clients: config.clients, version: packageVersion(), clock }) : undefined;
  const audit = config.audit.enabled
    ? new AuditLog(config.audit.file === undefined ? stdoutAuditSink : fileAuditSink(config.audit.file), () => clock.now())
    : undefined;
  let listener: MetricsListener | undefined;
  return {
    events: serviceObserver({ metrics, audit, logger, now: () => clock.now() }),
    metrics,
    audit,
    async listen() {
      if (metrics === undefined) return undefined;
      const { host, port } = config.metrics;
      try {
        listener = await startMetricsListener(metrics.registry, host, port);
        return listener.address;
      } catch (err) {
        logger.error(`metrics listener could not bind ${host}:${port}${osReason(err)}: metrics are not served`, { reason: "metrics_listen_failed" });
        return undefined;
      }
    },
    async close() {
      await listener?.close();
      audit?.close();
    },
  };
}
