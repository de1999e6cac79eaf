import { readFileSync } from "node:fs";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { Metadata, Server as GrpcServer, ServerCredentials, ServerInterceptingCall, status, type ServerInterceptor } from "@grpc/grpc-js";
import type { ListenerLimits, TlsConfig } from "../config/types.js";
import { ConnectionGuard, withinGrace } from "./connection-guard.js";

/** The grpc-js server and its listener. Add services to `server`, then `listen`. */
export interface GrpcListener {
  readonly server: GrpcServer;
  listen(host: string, port: number): Promise<AddressInfo>;
  /** Stops accepting, sends every connection a GOAWAY (tryShutdown), lets calls in flight finish within `graceMs`, then closes what is left. */
  close(graceMs?: number): Promise<void>;
}

/** Server keepalive pings find dead peers of long streams (grpc-js' default is 2 hours). */
const KEEPALIVE_TIME_MS = 60_000;
const KEEPALIVE_TIMEOUT_MS = 20_000;

/**
 * A call whose request has not fully arrived (half-close) within `timeoutMs`
 * ends with DEADLINE_EXCEEDED, and its connection is reset: grpc-js answers
 * but leaves the stream open while the client has not finished sending, so
 * the connection would never be idle. Every call tells the guard its peer.
 */
function requestTimeoutInterceptor(timeoutMs: number, guard: ConnectionGuard): ServerInterceptor {
  return (_method, call) => {
    let timer: NodeJS.Timeout | undefined;
    const stop = () => clearTimeout(timer);
    return new ServerInterceptingCall(call, {
      start: (next) => {
        const peer = call.getPeer();
        guard.served(peer);
        timer = setTimeout(() => {
          call.sendStatus({ code: status.DEADLINE_EXCEEDED, details: `request not received within ${timeoutMs} ms`, metadata: new Metadata() });
          // After the status is written out.
          setImmediate(() => guard.destroyPeer(peer));
        }, timeoutMs);
        next({
          onReceiveHalfClose: (nextHalfClose) => {
            stop();
            nextHalfClose();
          },
          onCancel: stop,
        });
      },
      sendStatus: (callStatus, nextStatus) => {
        stop();
        nextStatus(callStatus);
      },
    });
  };
}

/**
 * grpc-js on a TCP listener of our own, whose connections are injected into
 * it: grpc-js has no connection cap and no bound on a connection that never
 * makes a call (silent, stuck in the TLS handshake or in the HTTP/2 preface),
 * so the listener's maxConnections and a ConnectionGuard do that. grpc-js
 * itself closes connections idle (no call) for `idleTimeoutMs`, caps streams
 * per connection and message sizes; an interceptor bounds the time a call's
 * request may take to arrive.
 */
export function createGrpcListener(
  limits: ListenerLimits,
  maxMessageBytes: number,
  tls?: TlsConfig,
  interceptors: readonly ServerInterceptor[] = [],
): GrpcListener {
  const guard = new ConnectionGuard(limits.headersTimeoutMs);
  const server = new GrpcServer({
    "grpc.max_receive_message_length": maxMessageBytes,
    "grpc.max_concurrent_streams": limits.maxConcurrentStreams,
    "grpc.max_connection_idle_ms": limits.idleTimeoutMs,
    "grpc.keepalive_time_ms": KEEPALIVE_TIME_MS,
    "grpc.keepalive_timeout_ms": KEEPALIVE_TIMEOUT_MS,
    interceptors: [requestTimeoutInterceptor(limits.requestTimeoutMs, guard), ...interceptors],
  });
  const credentials = tls
    ? ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(tls.certFile), private_key: readFileSync(tls.keyFile) }])
    : ServerCredentials.createInsecure();
  const injector = server.createConnectionInjector(credentials);
  const tcp = createServer((socket: Socket) => {
    socket.setNoDelay(true);
    guard.accept(socket);
    injector.injectConnection(socket);
  });
  tcp.maxConnections = limits.maxConnections;

  let closing: Promise<void> | undefined;
  return {
    server,
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(port, host, () => {
          tcp.off("error", reject);
          resolve(tcp.address() as AddressInfo);
        });
      }),
    close: (graceMs = 0) => {
      closing ??= (async () => {
        if (tcp.listening) tcp.close();
        guard.destroyUnserved();
        // Connections that never made a call were reset above; tryShutdown covers the HTTP/2 sessions.
        const shutDown = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
        await withinGrace(shutDown, graceMs, () => {
          // Sockets first: once grpc-js has destroyed a session, its socket is marked destroyed but its descriptor stays open.
          guard.destroyAll();
          server.forceShutdown();
        });
      })();
      return closing;
    },
  };
}
