// A promise-style grpc-js client of the example Files service, built with
// grpcClientConstructor from the protobuf-es descriptors. The interceptors
// given (e.g. tokenClientInterceptor) see every call.
import { Metadata, credentials, type Interceptor, type ServiceError } from "@grpc/grpc-js";
import { grpcClientConstructor } from "tessera/grpc";
import { FilesService, type File } from "../gen/example/files/v1/files_pb.js";

export interface FilesClient {
  getFile(id: string, options?: CallOptions): Promise<File>;
  deleteFile(id: string, options?: CallOptions): Promise<void>;
  close(): void;
}

export interface CallOptions {
  /** Request metadata sent as it is, e.g. { authorization: "Bearer ..." }. */
  headers?: Record<string, string>;
}

/** Every call ends within this time. */
const DEADLINE_MS = 5000;

/** A Files client for host:port over an insecure channel (loopback), with `interceptors`. */
export function filesClient(address: string, interceptors: Interceptor[] = []): FilesClient {
  const Ctor = grpcClientConstructor(FilesService);
  const client = new Ctor(address, credentials.createInsecure(), { interceptors });
  const unary = <T>(name: string, request: object, options: CallOptions = {}) =>
    new Promise<T>((resolve, reject) => {
      const metadata = new Metadata();
      for (const [key, value] of Object.entries(options.headers ?? {})) metadata.set(key, value);
      const method = (client as unknown as Record<string, Function>)[name]!;
      method.call(client, request, metadata, { deadline: Date.now() + DEADLINE_MS }, (err: ServiceError | null, response: T) =>
        err ? reject(err) : resolve(response),
      );
    });
  return {
    getFile: async (id, options) => (await unary<{ file?: File }>("GetFile", { id }, options)).file!,
    deleteFile: async (id, options) => void (await unary("DeleteFile", { id }, options)),
    close: () => client.close(),
  };
}
