import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import type { HealthState } from "./health.js";
import { ServingStatus } from "./health.js";

/** The request/response pair of connect-node's fallback handler (HTTP/1.1 or HTTP/2). */
type NodeHandler = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
type Req = Parameters<NodeHandler>[0];
type Res = Parameters<NodeHandler>[1];

function json(res: Res, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers });
  res.end(text);
}

/** Plain HTTP routes served beside Connect: liveness and readiness. Anything else is 404. */
export function httpRoutes(deps: { health: HealthState }): (req: Req, res: Res) => void {
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz" || path === "/readyz") {
      if (req.method !== "GET" && req.method !== "HEAD") return json(res, 405, { error: "method_not_allowed" }, { allow: "GET, HEAD" });
      if (path === "/healthz") return json(res, 200, { status: "ok" });
      const ready = deps.health.get("") === ServingStatus.SERVING;
      return json(res, ready ? 200 : 503, { status: ready ? "ready" : "not ready" });
    }
    json(res, 404, { error: "not_found" });
  };
}
