// WatchRevocations / WatchKeys from real clients (grpc-js against the grpc listener, connect-node
// gRPC and Connect against the HTTP listener), recorded message by message so that a test can
// wait for what it expects and for the end of the stream.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import { Http2SessionManager, createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Metadata, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import {
  TokenService,
  type WatchKeysRequestSchema,
  type WatchKeysResponse,
  type WatchRevocationsRequestSchema,
  type WatchRevocationsResponse,
} from "../../gen/tessera/v1/token_service_pb.js";
import { grpcJsClient, type GrpcJsClient } from "./grpc-client.js";
import { until } from "./wait.js";

/** One stream's messages and its end (the status code, 0 for OK). */
export interface Watch<T> {
  readonly messages: T[];
  /** Set once the stream ended: its gRPC status code (0 = OK). */
  readonly ended: { code: number; message: string } | undefined;
  /** Waits for a message (at or after index `from`) that satisfies `match`. */
  next(match: (message: T) => boolean, what: string, from?: number, timeoutMs?: number): Promise<T>;
  /** Waits for the end of the stream. */
  end(what: string, timeoutMs?: number): Promise<{ code: number; message: string }>;
  cancel(): void;
}

type Method = "watchRevocations" | "watchKeys";
type RequestOf<M extends Method> = M extends "watchRevocations"
  ? MessageInitShape<typeof WatchRevocationsRequestSchema>
  : MessageInitShape<typeof WatchKeysRequestSchema>;
type ResponseOf<M extends Method> = M extends "watchRevocations" ? WatchRevocationsResponse : WatchKeysResponse;

/** A client that opens watch streams; close() ends its connections. */
export interface WatchClient {
  readonly name: string;
  watch<M extends Method>(method: M, request: RequestOf<M>, authorization?: string): Watch<ResponseOf<M>>;
  close(): void;
}

function recorder<T>(cancel: () => void): Watch<T> & { push(m: T): void; finish(code: number, message: string): void } {
  const messages: T[] = [];
  let ended: { code: number; message: string } | undefined;
  return {
    messages,
    get ended() {
      return ended;
    },
    push: (m) => void messages.push(m),
    finish(code, message) {
      ended ??= { code, message };
    },
    next: (match, what, from = 0, timeoutMs = 10_000) =>
      until(
        () => {
          const found = messages.slice(from).find(match);
          if (found === undefined && ended !== undefined) throw new Error(`${what}: the stream ended (${ended.code} ${ended.message})`);
          return found;
        },
        what,
        timeoutMs,
      ),
    end: (what, timeoutMs = 10_000) => until(() => ended, what, timeoutMs),
    cancel,
  };
}

/** grpc-js against the grpc listener. */
export function grpcJsWatchClient(address: string): WatchClient {
  const client: GrpcJsClient<typeof TokenService> = grpcJsClient(TokenService, address);
  return {
    name: "grpc-js",
    watch(method, request, authorization) {
      const desc = TokenService.method[method];
      const metadata = new Metadata();
      if (authorization !== undefined) metadata.set("authorization", authorization);
      const fn = (client.raw as unknown as Record<string, (req: unknown, md: Metadata) => ClientReadableStream<unknown>>)[desc.name]!;
      const call = fn.call(client.raw, create(desc.input, request as never), metadata);
      const watch = recorder<ResponseOf<typeof method>>(() => call.cancel());
      call.on("data", (m: ResponseOf<typeof method>) => watch.push(m));
      call.on("error", (err: ServiceError) => watch.finish(err.code, err.details));
      call.on("status", (status: { code: number; details: string }) => watch.finish(status.code, status.details));
      return watch;
    },
    close: () => client.close(),
  };
}

/** connect-node against the HTTP listener: gRPC over h2c, or the Connect protocol over HTTP/2 or HTTP/1.1. */
export function connectWatchClient(baseUrl: string, protocol: "grpc" | "connect-h2" | "connect-h1"): WatchClient {
  const sessionManager = new Http2SessionManager(baseUrl);
  const transport =
    protocol === "grpc"
      ? createGrpcTransport({ baseUrl, sessionManager })
      : protocol === "connect-h1"
        ? createConnectTransport({ baseUrl, httpVersion: "1.1" })
        : createConnectTransport({ baseUrl, httpVersion: "2", sessionManager });
  const client = createClient(TokenService, transport);
  return {
    name: `connect-node ${protocol}`,
    watch(method, request, authorization) {
      const controller = new AbortController();
      const watch = recorder<ResponseOf<typeof method>>(() => controller.abort());
      const options = { signal: controller.signal, headers: authorization === undefined ? {} : { authorization } };
      const stream = (
        method === "watchRevocations"
          ? client.watchRevocations(request as RequestOf<"watchRevocations">, options)
          : client.watchKeys(request as RequestOf<"watchKeys">, options)
      ) as AsyncIterable<ResponseOf<typeof method>>;
      void (async () => {
        try {
          for await (const m of stream) watch.push(m);
          watch.finish(0, "");
        } catch (err) {
          const e = ConnectError.from(err);
          watch.finish(e.code, e.rawMessage);
        }
      })();
      return watch;
    },
    close: () => sessionManager.abort(),
  };
}
