import { errorSentOn, type HttpRoute } from "../http-io.js";
import type { TokenServiceHandlers } from "../token-service-handlers.js";
import type { ServerMetrics } from "./server-metrics.js";

/** Times an OAuth endpoint until its response is finished, and counts its refusal, if any. */
export function timedRoute(metrics: ServerMetrics, endpoint: string, route: HttpRoute): HttpRoute {
  return (req, res) => {
    const started = performance.now();
    res.once("close", () => metrics.httpRequest(endpoint, res.statusCode, (performance.now() - started) / 1000, errorSentOn(res)));
    return route(req, res);
  };
}

const RPC_NAMES = { issueToken: "IssueToken", introspect: "Introspect", getJwks: "GetJwks", revoke: "Revoke" } as const;

/**
 * The TokenService handlers, each unary call timed and its refusal counted
 * (by RPC name, whichever transport serves it). Other members pass through.
 */
export function timedHandlers<H extends TokenServiceHandlers>(metrics: ServerMetrics, handlers: H): H {
  const timed = { ...handlers };
  for (const [member, method] of Object.entries(RPC_NAMES) as [keyof typeof RPC_NAMES, string][]) {
    const handler = handlers[member] as (...args: unknown[]) => Promise<unknown>;
    (timed as Record<string, unknown>)[member] = async (...args: unknown[]) => {
      const started = performance.now();
      try {
        const result = await handler(...args);
        metrics.rpc(method, (performance.now() - started) / 1000, undefined);
        return result;
      } catch (err) {
        metrics.rpc(method, (performance.now() - started) / 1000, err);
        throw err;
      }
    };
  }
  return timed;
}
