// One calling interface over every client kind the interceptor tests use:
// Connect (HTTP/1.1, HTTP/2), gRPC-Web, gRPC via connect-node, and grpc-js,
// with either the client interceptors (tokens) or a fixed authorization header.
import { Agent } from "node:http";
import { ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { Http2SessionManager, createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Metadata, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { CalendarService, WatchEventsRequestSchema, type Event, type WatchEventsResponse } from "../../examples/gen/example/calendar/v1/calendar_pb.js";
import { AuthErrorDetailSchema, type AuthErrorDetail } from "../../gen/tessera/v1/token_service_pb.js";
import { tokenInterceptor } from "../../src/connect.js";
import { tokenClientInterceptor } from "../../src/grpc.js";
import type { TokenSource } from "../../src/token-source/token-source.js";
import { grpcJsClient, grpcStatusDetails, isServiceError } from "./grpc-client.js";

export type CalendarClientKind = "connect-1.1" | "connect-2" | "grpc-web" | "connect-grpc" | "grpc-js";

export interface CalendarApi {
  readonly name: string;
  ping(text: string): Promise<string>;
  listEvents(): Promise<Event[]>;
  createEvent(title: string): Promise<Event>;
  deleteEvent(id: string): Promise<void>;
  /** The server stream of events. */
  watch(): AsyncIterable<Event>;
  close(): void;
}

/** A failed call, whatever the client. */
export interface Failure {
  code: number;
  message: string;
  detail: AuthErrorDetail | undefined;
  challenge: string | undefined;
}

export function failureOf(err: unknown): Failure {
  if (err instanceof ConnectError) {
    return {
      code: err.code,
      message: err.rawMessage,
      detail: err.findDetails(AuthErrorDetailSchema)[0],
      challenge: err.metadata.get("www-authenticate") ?? undefined,
    };
  }
  if (isServiceError(err)) {
    const hasDetails = err.metadata.get("grpc-status-details-bin").length > 0;
    const challenge = err.metadata.get("www-authenticate")[0];
    return {
      code: err.code,
      message: err.details,
      detail: hasDetails ? grpcStatusDetails(err).detail : undefined,
      challenge: typeof challenge === "string" ? challenge : undefined,
    };
  }
  throw new Error(`not an RPC error: ${String(err)}`);
}

/** Awaits a call that must fail; returns its failure. */
export async function fails(call: Promise<unknown>): Promise<Failure> {
  try {
    await call;
  } catch (err) {
    return failureOf(err);
  }
  throw new Error("expected the call to fail");
}

export interface ClientAuth {
  /** Attach tokens with the client interceptors. */
  tokens?: TokenSource;
  /** Or send this authorization header as it is. */
  authorization?: string;
  /** Headers (metadata) every call sends as well, e.g. the application's own `traceparent`. */
  headers?: Record<string, string>;
}

/** A Calendar client of `kind` for a server at `target` (base URL for Connect kinds, host:port for grpc-js). */
export function calendarClient(kind: CalendarClientKind, target: string, auth: ClientAuth = {}): CalendarApi {
  if (kind === "grpc-js") return grpcJsCalendar(target, auth);
  const interceptors: Interceptor[] = auth.tokens ? [tokenInterceptor({ tokens: auth.tokens })] : [];
  // No defaultTimeoutMs: connect-es clears a stream's deadline timer only when the stream ends, not
  // when it is aborted, so a watch() left early would hold its file open for the whole timeout.
  // Unary calls get their deadline per call instead.
  const common = { baseUrl: target, interceptors };
  let transport: Transport;
  let close: () => void;
  if (kind === "connect-1.1" || kind === "grpc-web") {
    const agent = new Agent({ keepAlive: true });
    transport = (kind === "grpc-web" ? createGrpcWebTransport : createConnectTransport)({ ...common, httpVersion: "1.1", nodeOptions: { agent } });
    close = () => agent.destroy();
  } else {
    const sessionManager = new Http2SessionManager(target);
    transport =
      kind === "connect-grpc" ? createGrpcTransport({ ...common, sessionManager }) : createConnectTransport({ ...common, httpVersion: "2", sessionManager });
    close = () => sessionManager.abort();
  }
  const client = createClient(CalendarService, transport);
  const headers = { ...auth.headers, ...(auth.authorization ? { authorization: auth.authorization } : {}) };
  const unary = { headers, timeoutMs: 30_000 };
  return {
    name: kind,
    ping: async (text) => (await client.ping({ text }, unary)).text,
    listEvents: async () => (await client.listEvents({}, unary)).events,
    createEvent: async (title) => (await client.createEvent({ title, startUnix: 1n }, unary)).event!,
    deleteEvent: async (id) => void (await client.deleteEvent({ id }, unary)),
    async *watch() {
      // Abort on early exit too: otherwise the stream's deadline timer outlives the test.
      const abort = new AbortController();
      try {
        for await (const res of client.watchEvents({}, { headers, signal: abort.signal })) yield res.event!;
      } finally {
        abort.abort();
      }
    },
    close,
  };
}

function grpcJsCalendar(target: string, auth: ClientAuth): CalendarApi {
  const interceptors = auth.tokens ? [tokenClientInterceptor({ tokens: auth.tokens, services: [CalendarService], channel: { target, tls: false } })] : [];
  const client = grpcJsClient(CalendarService, target, undefined, { interceptors });
  const metadata = { ...auth.headers, ...(auth.authorization ? { authorization: auth.authorization } : {}) };
  return {
    name: "grpc-js",
    ping: async (text) => (await client.unary("ping", { text }, { metadata })).text,
    listEvents: async () => (await client.unary("listEvents", {}, { metadata })).events,
    createEvent: async (title) => (await client.unary("createEvent", { title, startUnix: 1n }, { metadata })).event!,
    deleteEvent: async (id) => void (await client.unary("deleteEvent", { id }, { metadata })),
    async *watch() {
      const md = new Metadata();
      for (const [k, v] of Object.entries(metadata)) md.set(k, v);
      const raw = client.raw as unknown as Record<string, (req: unknown, md: Metadata) => ClientReadableStream<WatchEventsResponse>>;
      const stream = raw.WatchEvents!.call(client.raw, create(WatchEventsRequestSchema, {}), md);
      try {
        for await (const res of stream as AsyncIterable<WatchEventsResponse>) yield res.event!;
      } catch (err) {
        throw err as ServiceError;
      } finally {
        stream.cancel();
      }
    },
    close: () => client.close(),
  };
}
