import { readFileSync } from "node:fs";
import { Server as Http1Server, type IncomingMessage, type ServerResponse } from "node:http";
import {
  constants as http2Constants,
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
} from "node:http2";
import type { AddressInfo, Server, Socket } from "node:net";
import { createServer as createPolyglotServer } from "@httptoolkit/httpolyglot";
import type { ListenerLimits, TlsConfig } from "../config/types.js";
import { ConnectionGuard, DEFAULT_LISTENER_LIMITS, peerKey, withinGrace } from "./connection-guard.js";

export type HttpHandler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void;

/** An HTTP listener that speaks HTTP/1.1 and HTTP/2 on one port, bounds slow and idle connections, and drains on stop. */
export interface HttpListener {
  listen(host: string, port: number): Promise<AddressInfo>;
  /**
   * Starts draining while still accepting: HTTP/1.1 responses carry
   * `connection: close`, so that clients reconnect, through the load
   * balancer, to other replicas.
   */
  drain(): void;
  /**
   * Stops accepting, closes idle connections, sends HTTP/2 sessions a GOAWAY,
   * lets requests and streams in flight finish within `graceMs` (default 0:
   * at once), then resets what is left.
   */
  close(graceMs?: number): Promise<void>;
}

/** Unread request body an HTTP/1.1 connection discards to stay usable; beyond it the connection is dropped. */
const MAX_DRAIN_BYTES = 1024 * 1024;

/** A request's async iterator that leaves the request undestroyed when iteration stops early (one function for every request). */
function iterateWithoutDestroying(this: IncomingMessage): AsyncIterator<unknown> {
  return this.iterator({ destroyOnReturn: false });
}

/**
 * HTTP/1.1 keep-alive after an early answer (e.g. resource_exhausted past
 * readMaxBytes): the handler stops reading the body, and Node's async iterator
 * would destroy the request and leave the connection stalled on its unread
 * rest, so that the client's next request on it hangs until the keep-alive
 * timeout resets it. Here the body is not destroyed when reading stops, and
 * whatever is left once the response is sent is read and discarded, up to
 * MAX_DRAIN_BYTES.
 */
function discardingHttp1(handler: HttpHandler): HttpHandler {
  return (req, res) => {
    if (req.httpVersionMajor === 1) {
      const request = req as IncomingMessage;
      Object.defineProperty(request, Symbol.asyncIterator, { value: iterateWithoutDestroying });
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
 * HTTP/2 sessions: a session must open its first stream within
 * `headersTimeoutMs`, and is closed (GOAWAY) after `idleTimeoutMs` without
 * an open stream; a peer that does not take the GOAWAY loses the connection
 * `headersTimeoutMs` later. A stream whose request has not fully arrived
 * within `requestTimeoutMs` is reset. (Node's own HTTP/2 timeout counts any
 * frame, PINGs included, and is off by default.)
 */
function guardHttp2Session(session: ServerHttp2Session, limits: ListenerLimits, sessions: Set<ServerHttp2Session>): void {
  sessions.add(session);
  let active = 0;
  let idle: NodeJS.Timeout | undefined;
  // The session's own socket keeps the process alive while it is open; its timers need not.
  const closeIdle = () => {
    session.close();
    idle = setTimeout(() => session.destroy(), limits.headersTimeoutMs).unref();
  };
  idle = setTimeout(closeIdle, limits.headersTimeoutMs).unref();
  session.once("close", () => {
    clearTimeout(idle);
    sessions.delete(session);
  });
  session.on("stream", (stream) => {
    active++;
    clearTimeout(idle);
    const requestTimer = setTimeout(() => {
      if (!stream.destroyed && !stream.state.remoteClose) stream.close(http2Constants.NGHTTP2_CANCEL);
    }, limits.requestTimeoutMs).unref();
    stream.once("close", () => {
      clearTimeout(requestTimer);
      if (--active === 0 && !session.closed && !session.destroyed) idle = setTimeout(closeIdle, limits.idleTimeoutMs).unref();
    });
  });
}

/** The http.Server (HTTP/1.1 side) of an httpolyglot server; checked, since it is not public API. */
function polyglotHttp1Server(server: Server): Http1Server {
  const inner: unknown = (server as unknown as { _httpServer?: unknown })._httpServer;
  if (!(inner instanceof Http1Server)) throw new Error("@httptoolkit/httpolyglot: no _httpServer; check the listener limits against this version");
  return inner;
}

/**
 * Cleartext: HTTP/1.1 and h2c (prior knowledge) on one port, told apart by
 * @httptoolkit/httpolyglot. With TLS: HTTP/2 and HTTP/1.1 chosen by ALPN;
 * cleartext is then refused.
 *
 * Limits (see ListenerLimits): the connection cap is the listening socket's
 * maxConnections; a ConnectionGuard bounds the time to a connection's first
 * request, which httpolyglot's protocol sniffing and the TLS handshake would
 * otherwise wait for forever; HTTP/1.1 uses Node's headers, request and
 * keep-alive timeouts, which the httpolyglot wrapper bypasses until its inner
 * server is told it listens; HTTP/2 sessions get guardHttp2Session.
 */
export function createHttpListener(handler: HttpHandler, tls?: TlsConfig, limits: ListenerLimits = DEFAULT_LISTENER_LIMITS): HttpListener {
  const guard = new ConnectionGuard(limits.headersTimeoutMs);
  const sessions = new Set<ServerHttp2Session>();
  let draining = false;
  // HTTP/1.1 responses in flight: told to close their connection when the drain starts.
  const http1Responses = new Set<ServerResponse>();
  const closeAfter = (res: ServerResponse) => {
    if (!res.headersSent) res.setHeader("connection", "close");
    else res.once("finish", () => res.socket?.end());
  };
  const discarding = discardingHttp1(handler);
  // HTTP/1.1 connections that carried a request: the guard needs telling once, not on every keep-alive request.
  const servedSockets = new WeakSet<object>();
  const serve: HttpHandler = (req, res) => {
    const socket = req.socket;
    if (!servedSockets.has(socket)) {
      guard.served(peerKey(socket));
      // An HTTP/2 request's socket is a proxy made per stream: remembering it would only grow the set.
      if (req.httpVersionMajor === 1) servedSockets.add(socket);
    }
    if (req.httpVersionMajor === 1) {
      const response = res as ServerResponse;
      if (draining) closeAfter(response);
      http1Responses.add(response);
      response.once("close", () => http1Responses.delete(response));
    }
    discarding(req, res);
  };
  const http1Options = {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.idleTimeoutMs,
    // Node checks the headers and request timeouts on this interval (default 30 s).
    connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
  };
  const http2Options = {
    settings: { maxConcurrentStreams: limits.maxConcurrentStreams, maxHeaderListSize: limits.maxHeaderBytes },
  };
  let server: Server;
  let http1: Http1Server | Http2SecureServer;
  if (tls) {
    const secure = createSecureServer(
      { allowHTTP1: true, cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), handshakeTimeout: limits.headersTimeoutMs, ...http2Options },
      serve,
    );
    // allowHTTP1 reads these from the server (it takes no options for them).
    Object.assign(secure, http1Options);
    server = http1 = secure;
  } else {
    server = createPolyglotServer({ http: http1Options, http2: http2Options }, serve as (req: IncomingMessage, res: ServerResponse) => void);
    http1 = polyglotHttp1Server(server);
  }
  server.maxConnections = limits.maxConnections;
  server.on("connection", function (this: unknown, socket: Socket) {
    // httpolyglot hands each socket on to its inner servers with "connection" events, which reach this listener too.
    // Handed to its HTTP/2 server, the connection is bounded by guardHttp2Session (its requests do not show the peer).
    if (this !== server) {
      if (this !== http1) guard.served(peerKey(socket));
      return;
    }
    // Without this, Nagle's algorithm holds back HTTP/2 frames written
    // separately (headers, data, trailers) until the peer's delayed ACK:
    // about 40 ms added to every h2c call. (http.Server sets it itself, but
    // httpolyglot hands the sockets over through "connection" events.)
    socket.setNoDelay(true);
    guard.accept(socket);
  });
  server.on("session", (session: ServerHttp2Session) => guardHttp2Session(session, limits, sessions));

  const startDrain = () => {
    if (draining) return;
    draining = true;
    for (const response of http1Responses) closeAfter(response);
  };
  let closing: Promise<void> | undefined;
  return {
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          // Starts Node's headers/request timeout checks on the inner HTTP/1.1 server, which never listens itself.
          if (http1 !== server) http1.emit("listening");
          resolve(server.address() as AddressInfo);
        });
      }),
    drain: startDrain,
    close: (graceMs = 0) => {
      closing ??= (async () => {
        startDrain();
        if (server.listening) server.close();
        guard.destroyUnserved();
        // GOAWAY only now, when the load balancer has moved the clients: a stream that crosses a GOAWAY on
        // the wire is refused, or (Node's client, connect-node) left hanging.
        for (const session of sessions) session.close();
        // Keep-alive HTTP/1.1 connections with no request in flight (Http2SecureServer has it with allowHTTP1).
        (http1 as Http1Server).closeIdleConnections();
        await withinGrace(guard.allClosed(), graceMs, () => {
          // Sessions first: Node closes their sockets itself. A reset under a live session can leave
          // libuv polling a closed descriptor (a busy loop seen at shutdown); the rest is reset.
          for (const session of sessions) session.destroy();
          guard.destroyAll();
        });
        // Stops the inner server's timeout checks (its close() finds no handle to close).
        if (http1 !== server) http1.close();
      })();
      return closing;
    },
  };
}
