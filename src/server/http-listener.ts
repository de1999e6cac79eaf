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

/**
 * Cleartext: HTTP/1.1 and h2c (prior knowledge) on one port, told apart by
 * @httptoolkit/httpolyglot. With TLS: HTTP/2 and HTTP/1.1 chosen by ALPN;
 * cleartext is then refused.
 */
export function createHttpListener(handler: HttpHandler, tls?: TlsConfig): HttpListener {
  const server: Server = tls
    ? createSecureServer({ allowHTTP1: true, cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, handler)
    : createPolyglotServer(handler as (req: IncomingMessage, res: ServerResponse) => void);
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
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
