import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import { PayloadTooLargeError } from "../errors/tessera-error.js";
import { toHttpError } from "../errors/to-http.js";
import type { ClientAddressResolver } from "../internal/source-address.js";
import { rawHeaderValues } from "../internal/raw-headers.js";

/** The request/response pair of connect-node's fallback handler (HTTP/1.1 or HTTP/2). */
type NodeHandler = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
export type HttpRequest = Parameters<NodeHandler>[0];
export type HttpResponse = Parameters<NodeHandler>[1];
export type HttpRoute = (req: HttpRequest, res: HttpResponse) => Promise<void> | void;

/** Headers on every OAuth answer: tokens and token metadata must not be cached (RFC 6749 §5.1). */
export const NO_STORE = { "cache-control": "no-store", pragma: "no-cache" } as const;

export function sendJson(res: HttpResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json;charset=UTF-8", "content-length": String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** Writes the OAuth error answer for anything thrown (RFC 6749 §5.2 body, WWW-Authenticate, Retry-After). */
export function sendError(res: HttpResponse, thrown: unknown): void {
  refusedWith.set(res, thrown);
  const { status, headers, body } = toHttpError(thrown);
  sendJson(res, status, body, headers);
}

const refusedWith = new WeakMap<HttpResponse, unknown>();

/** The error a response was sent for (sendError), for metrics; undefined for a success. */
export function errorSentOn(res: HttpResponse): unknown {
  return refusedWith.get(res);
}

/**
 * Reads a request body, refusing more than `limit` bytes (checked on
 * Content-Length and while streaming). Event-driven rather than `for await`:
 * a stream's async iterator costs more than the small form it reads. Past the
 * limit it stops reading, and the listener deals with what is left. The
 * handlers stay on the request once it settled (they then do nothing): one
 * body per request, and removing them cost more than they do.
 */
export function readBody(req: HttpRequest, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > limit) return Promise.reject(new PayloadTooLargeError(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (err: Error | undefined) => {
      if (settled) return;
      settled = true;
      if (err === undefined) resolve(Buffer.concat(chunks, size));
      else reject(err);
    };
    req.on("data", (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else {
        req.pause();
        settle(new PayloadTooLargeError(limit));
      }
    });
    req.on("end", () => settle(undefined));
    req.on("error", settle);
    req.on("close", () => settle(new Error("the request ended before its body")));
  });
}

/** Refuses a request whose method is not allowed, with 405 and Allow. Returns true when refused. */
export function refuseMethod(req: HttpRequest, res: HttpResponse, allowed: readonly string[]): boolean {
  if (allowed.includes(req.method ?? "")) return false;
  sendJson(
    res,
    405,
    { error: "invalid_request", error_description: `method not allowed; use ${allowed.join(" or ")}` },
    { allow: allowed.join(", "), ...NO_STORE },
  );
  return true;
}

/**
 * Every value of a request header, in order, read from the raw header list:
 * `req.headers` keeps only the first of a repeated `authorization` (HTTP/1.1
 * and HTTP/2 alike), which would let a second credential pass unseen.
 */
export function headerValues(req: Pick<HttpRequest, "rawHeaders">, name: string): string[] {
  return rawHeaderValues(req.rawHeaders, name);
}

/** The client's address: the TCP peer, or the forwarded client when the peer is a trusted proxy. */
export function clientAddress(req: Pick<HttpRequest, "rawHeaders" | "socket">, addresses: ClientAddressResolver): string | undefined {
  const peer = req.socket?.remoteAddress;
  return addresses.enabled ? addresses.resolve(peer, headerValues(req, addresses.header)) : peer;
}
