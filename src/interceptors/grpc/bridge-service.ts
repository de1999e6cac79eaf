import type { DescMessage, DescMethod, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import {
  Metadata,
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
          if (!call.write(response)) await new Promise((resolve) => call.once("drain", resolve));
        }
        call.end();
      } catch (err) {
        if (!context.signal.aborted) call.emit("error", mapError(err));
      }
    })();
  };
}
