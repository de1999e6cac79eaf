import type { Socket } from "node:net";
import { DEFAULTS } from "../config/defaults.js";
import type { ListenerLimits } from "../config/types.js";

/** The documented listener limits, for listeners made without a configuration. */
export const DEFAULT_LISTENER_LIMITS: Readonly<ListenerLimits> = DEFAULTS.listenerLimits;

/** remoteAddress:remotePort, as grpc-js' getPeer() writes it: one TCP connection on a listener. */
export function peerKey(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  return `${socket.remoteAddress}:${socket.remotePort}`;
}

/**
 * The accepted TCP connections of one listener. Each must carry a first
 * complete request (or gRPC call) within `firstRequestTimeoutMs`, else it is
 * destroyed: this covers what the protocol servers cannot see, a silent
 * connection, a TLS handshake or an HTTP/2 preface that never completes, a
 * request head that never ends. Requests are matched to connections by peer
 * address and port, which is what every layer (raw socket, TLS socket,
 * HTTP/2 session, grpc-js call) can tell.
 */
export class ConnectionGuard {
  readonly #sockets = new Map<string, Socket>();
  readonly #waiting = new Map<string, NodeJS.Timeout>();
  readonly #firstRequestTimeoutMs: number;
  #allClosed: (() => void) | undefined;

  constructor(firstRequestTimeoutMs: number) {
    this.#firstRequestTimeoutMs = firstRequestTimeoutMs;
  }

  /** Tracks a newly accepted connection. */
  accept(socket: Socket): void {
    const key = peerKey(socket);
    this.#sockets.set(key, socket);
    const timer = setTimeout(() => reset(socket), this.#firstRequestTimeoutMs);
    this.#waiting.set(key, timer);
    socket.once("close", () => {
      if (this.#sockets.get(key) === socket) this.#sockets.delete(key);
      if (this.#waiting.get(key) === timer) {
        clearTimeout(timer);
        this.#waiting.delete(key);
      }
      if (this.#sockets.size === 0) this.#allClosed?.();
    });
  }

  /** A request arrived on the connection of `peer` (remoteAddress:remotePort): its first-request timer stops. */
  served(peer: string): void {
    const timer = this.#waiting.get(peer);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#waiting.delete(peer);
  }

  get size(): number {
    return this.#sockets.size;
  }

  /** Resets the connection of `peer`. */
  destroyPeer(peer: string): void {
    const socket = this.#sockets.get(peer);
    if (socket !== undefined) reset(socket);
  }

  /** Resets the connections that have not carried a request yet. */
  destroyUnserved(): void {
    for (const [key, socket] of this.#sockets) if (this.#waiting.has(key)) reset(socket);
  }

  destroyAll(): void {
    for (const socket of this.#sockets.values()) reset(socket);
  }

  /** Resolves once every tracked connection is closed. */
  allClosed(): Promise<void> {
    if (this.#sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.#allClosed;
      this.#allClosed = () => {
        this.#allClosed = undefined;
        previous?.();
        resolve();
      };
    });
  }
}

/**
 * Closes a connection. Not with a TCP reset (resetAndDestroy): under an HTTP/2
 * session that has taken the socket over, a reset left libuv polling a closed
 * descriptor at 100 % CPU after shutdown. HTTP/2 sessions are destroyed
 * before their sockets where the listener knows them.
 */
function reset(socket: Socket): void {
  if (!socket.destroyed) socket.destroy();
}

/**
 * Waits for `done` at most `graceMs`; past it, runs `force()` (which resets
 * what is left) and returns without waiting further: a socket an HTTP/2
 * session has taken over may never report its close.
 */
export async function withinGrace(done: Promise<void>, graceMs: number, force: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, graceMs);
  });
  const finished = await Promise.race([done.then(() => true), expired.then(() => false)]);
  clearTimeout(timer);
  if (!finished) force();
}
