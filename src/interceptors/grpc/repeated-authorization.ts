import type { Http2Server, IncomingHttpHeaders } from "node:http2";
import type { Server } from "@grpc/grpc-js";
import { rawHeaderValues } from "../../internal/raw-headers.js";

const guarded = new WeakSet<Http2Server>();

/**
 * Lets a grpc-js server see a second `authorization` header. Node's HTTP/2
 * keeps only the first of a request's `authorization` fields in the headers
 * it gives grpc-js, so a second one would be dropped before any interceptor
 * sees it and the first one picked. This puts every value back (grpc-js makes
 * one metadata entry of each), so that authServerInterceptor, and Tessera's
 * own TokenService, refuse the call with INVALID_ARGUMENT (invalid_request).
 * Call it after bindAsync (grpc-js creates its HTTP/2 servers there), and
 * again after each further bind.
 *
 * grpc-js offers no hook for this: it reaches the HTTP/2 servers through a
 * private field, and throws if a grpc-js release no longer has it, so that a
 * server never runs believing it is guarded when it is not.
 *
 * @example
 * server.bindAsync(address, credentials, (err) => { if (!err) refuseRepeatedAuthorization(server); });
 */
export function refuseRepeatedAuthorization(server: Server): void {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) {
    throw new Error("refuseRepeatedAuthorization: this grpc-js version does not expose its HTTP/2 servers, or none is bound yet");
  }
  for (const http2Server of servers.keys() as Iterable<Http2Server>) {
    if (guarded.has(http2Server)) continue;
    guarded.add(http2Server);
    // First in line, before grpc-js turns the headers into metadata.
    // Node passes the raw header list as a fourth argument (not in its typings).
    const onStream = (...args: unknown[]): void => {
      const headers = args[1] as IncomingHttpHeaders;
      const rawHeaders = args[3];
      if (!Array.isArray(rawHeaders)) return;
      const values = rawHeaderValues(rawHeaders, "authorization");
      if (values.length > 1) (headers as Record<string, string | string[]>).authorization = values;
    };
    http2Server.prependListener("stream", onStream);
  }
}
