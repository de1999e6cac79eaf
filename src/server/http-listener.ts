import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import type { AddressInfo, Server, Socket } from "node:net";
import { createServer as createPolyglotServer } from "@httptoolkit/httpolyglot";
import type { TlsConfig } from "../config/types.js";

export type HttpHandler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void;

/** An HTTP listener that speaks HTTP/1.1 and HTTP/2 on one port, and closes its connections on stop. */
export interface HttpListener {
  listen(host: string, port: number): Promise<AddressInfo>;
  close(): Promise<void>;
}

/** Unread request body an HTTP/1.1 connection discards to stay usable; beyond it the connection is dropped. */
const MAX_DRAIN_BYTES = 1024 * 1024;

/**
 * HTTP/1.1 keep-alive after an early answer (e.g. resource_exhausted past
 * readMaxBytes): the handler stops reading the body, and Node's async iterator
 * would destroy the request and leave the connection stalled on its unread
 * rest, so that the client's next request on it hangs until the keep-alive
 * timeout resets it. Here the body is not destroyed when reading stops, and
 * whatever is left once the response is sent is read and discarded, up to
 * MAX_DRAIN_BYTES.
 */
function drainingHttp1(handler: HttpHandler): HttpHandler {
  return (req, res) => {
    if (req.httpVersionMajor === 1) {
      const request = req as IncomingMessage;
      Object.defineProperty(request, Symbol.asyncIterator, { value: () => request.iterator({ destroyOnReturn: false }) });
      res.once("finish", () => {
        if (request.complete || request.destroyed) return;
        let drained = 0;
        request.on("data", (chunk: Buffer) => {
          drained += chunk.length;
          if (drained > MAX_DRAIN_BYTES) request.socket.destroy();
        });
        request.resume();
      });
    }
    handler(req, res);
  };
}

/**
 * Cleartext: HTTP/1.1 and h2c (prior knowledge) on one port, told apart by
 * @httptoolkit/httpolyglot. With TLS: HTTP/2 and HTTP/1.1 chosen by ALPN;
 * cleartext is then refused.
 */
export function createHttpListener(handler: HttpHandler, tls?: TlsConfig): HttpListener {
  const serve = drainingHttp1(handler);
  const server: Server = tls
    ? createSecureServer({ allowHTTP1: true, cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, serve)
    : createPolyglotServer(serve as (req: IncomingMessage, res: ServerResponse) => void);
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    // Without this, Nagle's algorithm holds back HTTP/2 frames written
    // separately (headers, data, trailers) until the peer's delayed ACK:
    // about 40 ms added to every h2c call. (http.Server sets it itself, but
    // httpolyglot hands the sockets over through "connection" events.)
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  return {
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
