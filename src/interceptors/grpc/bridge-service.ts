import { constants as http2 } from "node:http2";
import type { DescMessage, DescMethod, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import {
  Metadata,
  status as Status,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type StatusObject,
  type UntypedServiceImplementation,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type sendUnaryData,
} from "@grpc/grpc-js";
import { TesseraError } from "../../errors/tessera-error.js";
import { toGrpcStatus } from "../../errors/to-grpc.js";
import { grpcServiceDefinition } from "./service-definition.js";

/** What a bridged handler learns about its call. */
export interface GrpcCallContext {
  /** The request metadata (headers). */
  readonly metadata: Metadata;
  /** The peer address, e.g. "127.0.0.1:51234". */
  readonly peer: string;
  /** Aborted when the call is cancelled or its deadline passes. */
  readonly signal: AbortSignal;
  /** The method being called. */
  readonly method: DescMethod;
  /**
   * Server streams: resets the call's HTTP/2 stream at once (RST_STREAM ENHANCE_YOUR_CALM, which
   * clients read as RESOURCE_EXHAUSTED), for a peer that stopped reading: its status could only be
   * sent after the data it does not read. Absent on unary calls.
   */
  readonly reset?: (() => void) | undefined;
}

/** The handler of a unary method `M` (a protobuf-es DescMethod) in a GrpcServiceImpl. */
export type GrpcUnaryHandler<M> = M extends { methodKind: "unary"; input: infer I extends DescMessage; output: infer O extends DescMessage }
  ? (request: MessageShape<I>, call: GrpcCallContext) => Promise<MessageInitShape<O>>
  : never;
/** The handler of a server-streaming method `M` in a GrpcServiceImpl. */
export type GrpcServerStreamingHandler<M> = M extends {
  methodKind: "server_streaming";
  input: infer I extends DescMessage;
  output: infer O extends DescMessage;
}
  ? (request: MessageShape<I>, call: GrpcCallContext) => AsyncIterable<MessageInitShape<O>>
  : never;

/** Handlers for a protobuf-es described service, keyed by the method's localName. */
export type GrpcServiceImpl<S extends DescService> = {
  [K in keyof S["method"]]: GrpcUnaryHandler<S["method"][K]> | GrpcServerStreamingHandler<S["method"][K]>;
};

/** Maps a thrown value to the status sent to the caller. */
export type GrpcErrorMapper = (thrown: unknown) => Partial<StatusObject> & { code: number };

/**
 * The default mapping: Tessera errors through the error model (to-grpc.ts); a
 * thrown grpc-style status (`{ code, details }`, as grpc-js handlers pass to
 * their callback) as it is; anything else as a generic INTERNAL error.
 *
 * @example
 * ```ts
 * import { bridgeService, defaultGrpcErrorMapper } from "tessera/grpc";
 * import { status } from "@grpc/grpc-js";
 *
 * // A mapper of your own that keeps Tessera's mapping for everything else.
 * const files = bridgeService(FilesService, impl, {
 *   mapError: (thrown) => (thrown instanceof FileMissing ? { code: status.NOT_FOUND, details: "no such file" } : defaultGrpcErrorMapper(thrown)),
 * });
 * ```
 */
export function defaultGrpcErrorMapper(thrown: unknown): Partial<StatusObject> & { code: number } {
  if (!(thrown instanceof TesseraError) && typeof thrown === "object" && thrown !== null) {
    const { code, details } = thrown as { code?: unknown; details?: unknown };
    if (typeof code === "number" && Number.isInteger(code) && code > 0 && code <= 16 && typeof details === "string") {
      const metadata = (thrown as { metadata?: unknown }).metadata;
      return { code, details, ...(metadata instanceof Metadata ? { metadata } : {}) };
    }
  }
  return toGrpcStatus(thrown);
}

/**
 * Serves a protobuf-es described service on @grpc/grpc-js, which has no
 * protobuf-es plugin: the definition comes from grpcServiceDefinition, and
 * unary and server-streaming handlers are adapted. Client- and bidi-streaming
 * methods are refused.
 *
 * @example
 * const { definition, implementation } = bridgeService(TokenService, handlers);
 * server.addService(definition, implementation);
 */
export function bridgeService<S extends DescService>(
  service: S,
  impl: GrpcServiceImpl<S>,
  options: { mapError?: GrpcErrorMapper } = {},
): { definition: ServiceDefinition; implementation: UntypedServiceImplementation } {
  const mapError = options.mapError ?? defaultGrpcErrorMapper;
  const implementation: UntypedServiceImplementation = {};
  const handlers = impl as unknown as Record<string, (req: unknown, call: GrpcCallContext) => Promise<unknown> | AsyncIterable<unknown>>;
  for (const method of service.methods) {
    const handler = handlers[method.localName];
    if (handler === undefined) throw new Error(`no handler for ${service.typeName}.${method.name}`);
    if (method.methodKind !== "unary" && method.methodKind !== "server_streaming") {
      throw new Error(`${service.typeName}.${method.name}: ${method.methodKind} methods are not supported by the grpc-js bridge`);
    }
    implementation[method.name] =
      method.methodKind === "unary"
        ? unaryHandler(method, handler as (req: unknown, call: GrpcCallContext) => Promise<unknown>, mapError)
        : serverStreamHandler(method, handler as (req: unknown, call: GrpcCallContext) => AsyncIterable<unknown>, mapError);
  }
  return { definition: grpcServiceDefinition(service), implementation };
}

function callContext(method: DescMethod, call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>): GrpcCallContext {
  return new BridgeCallContext(method, call);
}

/** A call's context; the peer and the signal are made on first use (most handlers never look, and an AbortController per call is not free). */
class BridgeCallContext implements GrpcCallContext {
  readonly metadata: Metadata;
  readonly #call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;
  #controller: AbortController | undefined;

  constructor(
    readonly method: DescMethod,
    call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>,
  ) {
    this.metadata = call.metadata;
    this.#call = call;
  }

  get peer(): string {
    return this.#call.getPeer();
  }

  get reset(): (() => void) | undefined {
    const call = this.#call;
    if (this.method.methodKind !== "server_streaming") return undefined;
    return () => {
      const stream = http2StreamOf(call);
      if (stream === undefined) call.emit("error", { code: Status.RESOURCE_EXHAUSTED, details: "the stream was reset" });
      else if (!stream.closed) stream.close(http2.NGHTTP2_ENHANCE_YOUR_CALM);
    };
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      if (this.#call.cancelled) controller.abort();
      else this.#call.once("cancelled", () => controller.abort());
      this.#controller = controller;
    }
    return this.#controller.signal;
  }
}

function unaryHandler(
  method: DescMethod,
  handler: (req: unknown, call: GrpcCallContext) => Promise<unknown>,
  mapError: GrpcErrorMapper,
): handleUnaryCall<unknown, unknown> {
  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    handler(call.request, callContext(method, call)).then(
      (response) => callback(null, response),
      (err: unknown) => callback(mapError(err)),
    );
  };
}

function serverStreamHandler(
  method: DescMethod,
  handler: (req: unknown, call: GrpcCallContext) => AsyncIterable<unknown>,
  mapError: GrpcErrorMapper,
): handleServerStreamingCall<unknown, unknown> {
  return (call: ServerWritableStream<unknown, unknown>) => {
    const context = callContext(method, call);
    void (async () => {
      try {
        for await (const response of handler(call.request, context)) {
          if (context.signal.aborted) return;
          if (!call.write(response)) await drainedOrAborted(call, context.signal);
          if (context.signal.aborted) return;
        }
        call.end();
      } catch (err) {
        if (!context.signal.aborted) call.emit("error", mapError(err));
      }
    })();
  };
}

/** Resolves once the stream drains, or once the call is aborted (a reset stream never drains). */
function drainedOrAborted(call: ServerWritableStream<unknown, unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    call.once("drain", done);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * The HTTP/2 stream under a grpc-js server call: grpc-js keeps it on the innermost call of its
 * interceptor chain (`call.call[.nextCall…].stream`), not in its public API; undefined if that
 * ever changes (reset() then ends the call with a status instead).
 */
function http2StreamOf(call: object): { closed: boolean; close(code: number): void } | undefined {
  let current: unknown = (call as { call?: unknown }).call;
  for (let depth = 0; depth < 16 && typeof current === "object" && current !== null; depth++) {
    const stream = (current as { stream?: unknown }).stream;
    if (typeof stream === "object" && stream !== null && typeof (stream as { close?: unknown }).close === "function" && "rstCode" in stream) {
      return stream as unknown as { closed: boolean; close(code: number): void };
    }
    current = (current as { nextCall?: unknown }).nextCall;
  }
  return undefined;
}
