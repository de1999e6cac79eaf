import { create, fromBinary, toBinary, type DescMessage, type DescService, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import {
  makeGenericClientConstructor,
  type CallOptions,
  type ChannelCredentials,
  type Client,
  type ClientOptions,
  type ClientReadableStream,
  type ClientUnaryCall,
  type Metadata,
  type ServiceDefinition,
  type ServiceError,
} from "@grpc/grpc-js";
import { messageBytes } from "../../internal/shared-message.js";

/**
 * The grpc-js service definition of a protobuf-es described service: paths,
 * streaming kinds and binary serialization with protobuf-es. Requests and
 * responses may be messages or init objects.
 */
export function grpcServiceDefinition(service: DescService): ServiceDefinition {
  const definition: Record<string, ServiceDefinition[string]> = {};
  for (const method of service.methods) {
    definition[method.name] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: (init: MessageInitShape<DescMessage>) => Buffer.from(toBinary(method.input, create(method.input, init))),
      requestDeserialize: (bytes: Buffer) => fromBinary(method.input, bytes),
      // grpc-js frames a copy of these bytes: a message shared by many calls (shareMessage) is serialized once.
      responseSerialize: (init: MessageInitShape<DescMessage>) => messageBytes(init, () => Buffer.from(toBinary(method.output, create(method.output, init)))),
      responseDeserialize: (bytes: Buffer) => fromBinary(method.output, bytes),
      originalName: method.localName,
    };
  }
  return definition;
}

/** The callback of a unary call: the error, or the response message. */
export type GrpcUnaryCallback<O extends DescMessage> = (err: ServiceError | null, response: MessageShape<O>) => void;

/** A unary method of a grpc-js client, in the callback style grpc-js generates. */
export interface GrpcUnaryClientMethod<I extends DescMessage, O extends DescMessage> {
  (request: MessageInitShape<I>, callback: GrpcUnaryCallback<O>): ClientUnaryCall;
  (request: MessageInitShape<I>, metadata: Metadata, callback: GrpcUnaryCallback<O>): ClientUnaryCall;
  (request: MessageInitShape<I>, metadata: Metadata, options: Partial<CallOptions>, callback: GrpcUnaryCallback<O>): ClientUnaryCall;
}

/** A server-streaming method of a grpc-js client. */
export interface GrpcServerStreamClientMethod<I extends DescMessage, O extends DescMessage> {
  (request: MessageInitShape<I>, options?: Partial<CallOptions>): ClientReadableStream<MessageShape<O>>;
  (request: MessageInitShape<I>, metadata?: Metadata, options?: Partial<CallOptions>): ClientReadableStream<MessageShape<O>>;
}

/** The client method of a protobuf-es DescMethod `M`: unary or server-streaming. */
export type GrpcClientMethod<M> = M extends { methodKind: "unary"; input: infer I extends DescMessage; output: infer O extends DescMessage }
  ? GrpcUnaryClientMethod<I, O>
  : M extends { methodKind: "server_streaming"; input: infer I extends DescMessage; output: infer O extends DescMessage }
    ? GrpcServerStreamClientMethod<I, O>
    : never;

/**
 * A grpc-js client of a protobuf-es described service: each unary and
 * server-streaming method under its proto name (`CreateFile`, as grpc-js
 * generates it) and its localName (`createFile`).
 */
export type GrpcServiceClient<S extends DescService> = Client & {
  readonly [K in keyof S["method"] & string as K | Capitalize<K>]: GrpcClientMethod<S["method"][K]>;
};

/** The class grpcClientConstructor returns. */
export interface GrpcServiceClientConstructor<S extends DescService> {
  new (address: string, credentials: ChannelCredentials, options?: Partial<ClientOptions>): GrpcServiceClient<S>;
  readonly service: ServiceDefinition;
  readonly serviceName: string;
}

/**
 * A grpc-js client class for a protobuf-es described service (methods by
 * their proto names, callback style, as grpc-js generates them).
 *
 * @example
 * const FilesClient = grpcClientConstructor(FilesService);
 * const files = new FilesClient("127.0.0.1:50052", grpc.credentials.createInsecure(), { interceptors });
 */
export function grpcClientConstructor<S extends DescService>(service: S): GrpcServiceClientConstructor<S> {
  return makeGenericClientConstructor(grpcServiceDefinition(service), service.typeName) as unknown as GrpcServiceClientConstructor<S>;
}
