import type { TesseraConfig } from "../config/types.js";
import { getJwks } from "../issuer/get-jwks.js";
import type { ClientAddressResolver } from "../internal/source-address.js";
import type { IssuerContext } from "../issuer/issuer-context.js";
import type { HealthState } from "./health.js";
import { ServingStatus } from "./health.js";
import { refuseMethod, sendError, sendJson, type HttpResponse, type HttpRoute } from "./http-io.js";
import { introspectionEndpoint } from "./oauth/introspection-endpoint.js";
import { OAUTH_PATHS, serverMetadata } from "./oauth/metadata.js";
import { revocationEndpoint } from "./oauth/revocation-endpoint.js";
import { tokenEndpoint } from "./oauth/token-endpoint.js";
import { timedRoute } from "./observability/instrument.js";
import type { ServerMetrics } from "./observability/server-metrics.js";

export interface HttpRouteDeps {
  ctx: IssuerContext;
  /** Where a request comes from (the peer, or the client behind a trusted proxy). */
  addresses: ClientAddressResolver;
  /** The running configuration (a reload replaces it). */
  config: () => TesseraConfig;
  health: HealthState;
  /** Times the OAuth endpoints and counts their refusals. */
  metrics?: ServerMetrics | undefined;
}

function getOnly(route: HttpRoute): HttpRoute {
  return (req, res) => (refuseMethod(req, res, ["GET", "HEAD"]) ? undefined : route(req, res));
}

/**
 * The plain HTTP routes served beside Connect: the OAuth 2.0 endpoints,
 * discovery, liveness and readiness. Anything else is 404.
 */
export function httpRoutes(deps: HttpRouteDeps): HttpRoute {
  const { ctx, config, health, addresses, metrics } = deps;
  const timed = (endpoint: string, route: HttpRoute) => (metrics === undefined ? route : timedRoute(metrics, endpoint, route));
  const issuerPath = new URL(ctx.issuer).pathname.replace(/\/$/, "");
  const metadata = timed(
    "metadata",
    getOnly((_req, res) => sendJson(res, 200, serverMetadata(ctx, config()), { "cache-control": "public, max-age=300" })),
  );
  const routes = new Map<string, HttpRoute>([
    [OAUTH_PATHS.token, timed("token", tokenEndpoint(ctx, addresses))],
    [OAUTH_PATHS.introspection, timed("introspect", introspectionEndpoint(ctx, addresses))],
    [OAUTH_PATHS.revocation, timed("revoke", revocationEndpoint(ctx, addresses))],
    [
      OAUTH_PATHS.jwks,
      timed(
        "jwks",
        getOnly((_req, res) => sendJson(res, 200, getJwks(ctx), { "cache-control": "public, max-age=60" })),
      ),
    ],
    [OAUTH_PATHS.metadata, metadata],
    ["/healthz", getOnly((_req, res) => sendJson(res, 200, { status: "ok" }, { "cache-control": "no-store" }))],
    [
      "/readyz",
      getOnly((_req, res) => {
        const ready = health.get("") === ServingStatus.SERVING;
        sendJson(res, ready ? 200 : 503, { status: ready ? "ready" : "not ready" }, { "cache-control": "no-store" });
      }),
    ],
  ]);
  // RFC 8414 §3: an issuer with a path has its metadata under /.well-known/oauth-authorization-server/<path>.
  if (issuerPath !== "") routes.set(`${OAUTH_PATHS.metadata}${issuerPath}`, metadata);
  // Served under the issuer's path too, so that endpoints derived from the issuer URL resolve.
  if (issuerPath !== "") {
    for (const path of [OAUTH_PATHS.token, OAUTH_PATHS.introspection, OAUTH_PATHS.revocation, OAUTH_PATHS.jwks]) {
      routes.set(`${issuerPath}${path}`, routes.get(path)!);
    }
  }

  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    const route = routes.get(path);
    if (route === undefined) return sendJson(res, 404, { error: "not_found" }, { "cache-control": "no-store" });
    let served: Promise<void> | void;
    try {
      served = route(req, res);
    } catch (err) {
      return routeFailed(res, err);
    }
    served?.catch((err: unknown) => routeFailed(res, err));
  };
}

/** What a route threw or rejected with, unanswered: the error answer, or a reset once the answer started. */
function routeFailed(res: HttpResponse, err: unknown): void {
  if (res.headersSent) res.destroy();
  else sendError(res, err);
}
