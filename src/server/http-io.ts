import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import { PayloadTooLargeError } from "../errors/tessera-error.js";
import { toHttpError } from "../errors/to-http.js";

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
  const { status, headers, body } = toHttpError(thrown);
  sendJson(res, status, body, headers);
}

/** Reads a request body, refusing more than `limit` bytes (checked on Content-Length and while streaming). */
export async function readBody(req: HttpRequest, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > limit) throw new PayloadTooLargeError(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new PayloadTooLargeError(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Refuses a request whose method is not allowed, with 405 and Allow. Returns true when refused. */
export function refuseMethod(req: HttpRequest, res: HttpResponse, allowed: readonly string[]): boolean {
  if (allowed.includes(req.method ?? "")) return false;
  sendJson(res, 405, { error: "invalid_request", error_description: `method not allowed; use ${allowed.join(" or ")}` }, { allow: allowed.join(", "), ...NO_STORE });
  return true;
}
