// Callers of the echo service: a grpc-js client (the bridge's definition) and
// a Connect client (Connect protocol, binary, cleartext HTTP/2).
import type { DescService } from "@bufbuild/protobuf";
import { createClient, type CallOptions, type Interceptor as ConnectInterceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { credentials, Metadata, type Client, type Interceptor as GrpcInterceptor, type ServiceError } from "@grpc/grpc-js";
import { grpcClientConstructor } from "../../src/interceptors/grpc/service-definition.js";

/** One echo call; `authorization` is sent as is when given. Rejects on any error status. */
export interface EchoCaller {
  call(authorization?: string): Promise<void>;
  close(): void;
}

export function grpcEchoCaller(service: DescService, address: string, interceptors: GrpcInterceptor[] = []): EchoCaller {
  const Ctor = grpcClientConstructor(service);
  const client = new Ctor(address, credentials.createInsecure(), { interceptors }) as Client & Record<string, Function>;
  const echo = client.Echo!;
  return {
    call: (authorization) =>
      new Promise<void>((resolve, reject) => {
        const metadata = new Metadata();
        if (authorization !== undefined) metadata.set("authorization", authorization);
        echo.call(client, { text: "hello" }, metadata, { deadline: Date.now() + 10_000 }, (err: ServiceError | null) => (err ? reject(err) : resolve()));
      }),
    close: () => client.close(),
  };
}

export function connectEchoCaller(service: DescService, baseUrl: string, interceptors: ConnectInterceptor[] = []): EchoCaller {
  const transport = createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true, interceptors });
  const client = createClient(service, transport) as unknown as { echo: (req: { text: string }, options: CallOptions) => Promise<unknown> };
  return {
    call: async (authorization) => {
      await client.echo({ text: "hello" }, { timeoutMs: 10_000, ...(authorization !== undefined ? { headers: { authorization } } : {}) });
    },
    close: () => {},
  };
}
