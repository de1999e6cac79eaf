import { create, fromBinary, type DescMessage, type DescService, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { Metadata, credentials, type ChannelCredentials, type Client, type ClientOptions, type ServiceError } from "@grpc/grpc-js";
import { StatusSchema, type Status } from "../../gen/google/rpc/status_pb.js";
import { AuthErrorDetailSchema, type AuthErrorDetail } from "../../gen/tessera/v1/token_service_pb.js";
import { grpcClientConstructor } from "../../src/interceptors/grpc/service-definition.js";

type InputOf<M> = M extends { input: infer I extends DescMessage } ? I : never;
type OutputOf<M> = M extends { output: infer O extends DescMessage } ? O : never;

/** A grpc-js client for a protobuf-es described service, built from the same bridge definition the server uses. */
export interface GrpcJsClient<S extends DescService> {
  /** Calls a unary method by its localName (e.g. "issueToken"). Rejects with the grpc-js ServiceError. */
  unary<K extends keyof S["method"] & string>(
    method: K,
    request: MessageInitShape<InputOf<S["method"][K]>>,
    options?: { metadata?: Record<string, string>; timeoutMs?: number },
  ): Promise<MessageShape<OutputOf<S["method"][K]>>>;
  readonly raw: Client;
  close(): void;
}

/** Creates a grpc-js client for `service` at host:port (insecure unless credentials are given). */
export function grpcJsClient<S extends DescService>(
  service: S,
  address: string,
  channelCredentials: ChannelCredentials = credentials.createInsecure(),
  clientOptions: ClientOptions = {},
): GrpcJsClient<S> {
  const Ctor = grpcClientConstructor(service);
  const client = new Ctor(address, channelCredentials, clientOptions);
  return {
    raw: client,
    unary(method, request, options = {}) {
      const desc = service.method[method];
      if (desc === undefined || desc.methodKind !== "unary") throw new Error(`${method} is not a unary method of ${service.typeName}`);
      const metadata = new Metadata();
      for (const [key, value] of Object.entries(options.metadata ?? {})) metadata.set(key, value);
      const deadline = Date.now() + (options.timeoutMs ?? 30_000);
      const fn = (client as unknown as Record<string, Function>)[desc.name]!;
      return new Promise((resolve, reject) => {
        fn.call(client, create(desc.input, request), metadata, { deadline }, (err: ServiceError | null, response: unknown) => {
          if (err) reject(err);
          else resolve(response as MessageShape<OutputOf<S["method"][typeof method]>>);
        });
      });
    },
    close: () => client.close(),
  };
}

/** Whether a thrown value is a grpc-js ServiceError. */
export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === "number" && (err as Partial<ServiceError>).metadata instanceof Metadata;
}

/** Decodes the google.rpc.Status of a grpc-js error's `grpc-status-details-bin` trailer and the AuthErrorDetail in it. */
export function grpcStatusDetails(err: ServiceError): { status: Status; detail: AuthErrorDetail | undefined } {
  const values = err.metadata.get("grpc-status-details-bin");
  if (values.length !== 1 || !Buffer.isBuffer(values[0])) throw new Error(`expected one grpc-status-details-bin trailer, got ${values.length}`);
  const status = fromBinary(StatusSchema, values[0]);
  const details = status.details.map((any) => anyUnpack(any, AuthErrorDetailSchema)).filter((d) => d !== undefined);
  return { status, detail: details[0] };
}
