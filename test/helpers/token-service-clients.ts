import { Agent } from "node:http";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { Http2SessionManager, createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Health, type HealthCheckResponse } from "../../gen/grpc/health/v1/health_pb.js";
import {
  AuthErrorDetailSchema,
  TokenService,
  type AuthErrorDetail,
  type ExchangeTokenRequestSchema,
  type ExchangeTokenResponse,
  type GetJwksResponse,
  type IntrospectRequestSchema,
  type IntrospectResponse,
  type IssueTokenRequestSchema,
  type IssueTokenResponse,
  type RevokeRequestSchema,
  type RevokeResponse,
} from "../../gen/tessera/v1/token_service_pb.js";
import { grpcJsClient, grpcStatusDetails, isServiceError } from "./grpc-client.js";

/** A failed call, the same shape whatever the client library. */
export interface CallError {
  /** gRPC status code (grpc-js and Connect share the numbers). */
  readonly code: number;
  readonly message: string;
  /** The tessera.v1.AuthErrorDetail of the error details, if any. */
  readonly detail: AuthErrorDetail | undefined;
}

/** tessera.v1.TokenService and grpc.health.v1.Health over one client library and protocol. */
export interface TokenServiceApi {
  readonly name: string;
  /** Which listener the client talks to. */
  readonly listener: "grpc" | "http";
  issueToken(req: MessageInitShape<typeof IssueTokenRequestSchema>, authorization?: string): Promise<IssueTokenResponse>;
  introspect(req: MessageInitShape<typeof IntrospectRequestSchema>, authorization?: string): Promise<IntrospectResponse>;
  getJwks(): Promise<GetJwksResponse>;
  revoke(req: MessageInitShape<typeof RevokeRequestSchema>, authorization?: string): Promise<RevokeResponse>;
  exchangeToken(req: MessageInitShape<typeof ExchangeTokenRequestSchema>, authorization?: string): Promise<ExchangeTokenResponse>;
  healthCheck(service: string): Promise<HealthCheckResponse>;
  /** Normalizes an error thrown by this api; fails when it is not this library's RPC error. */
  callError(err: unknown): CallError;
  close(): Promise<void>;
}

function headersOf(authorization: string | undefined): Record<string, string> {
  return authorization === undefined ? {} : { authorization };
}

/** A grpc-js client against host:port. Errors are checked to carry a consistent grpc-status-details-bin trailer. */
export function grpcJsApi(address: string, name = "grpc-js → grpc listener"): TokenServiceApi {
  const token = grpcJsClient(TokenService, address);
  const health = grpcJsClient(Health, address);
  return {
    name,
    listener: "grpc",
    issueToken: (req, authorization) => token.unary("issueToken", req, { metadata: headersOf(authorization) }),
    introspect: (req, authorization) => token.unary("introspect", req, { metadata: headersOf(authorization) }),
    getJwks: () => token.unary("getJwks", {}),
    revoke: (req, authorization) => token.unary("revoke", req, { metadata: headersOf(authorization) }),
    exchangeToken: (req, authorization) => token.unary("exchangeToken", req, { metadata: headersOf(authorization) }),
    healthCheck: (service) => health.unary("check", { service }),
    callError(err) {
      if (!isServiceError(err)) throw new Error(`not a grpc-js ServiceError: ${String(err)}`);
      const { status, detail } = grpcStatusDetails(err);
      if (status.code !== err.code) throw new Error(`grpc-status-details-bin code ${status.code} differs from grpc-status ${err.code}`);
      if (status.message !== err.details) throw new Error(`grpc-status-details-bin message differs from grpc-message`);
      return { code: err.code, message: err.details, detail };
    },
    close: async () => {
      token.close();
      health.close();
    },
  };
}

type ConnectKind = "grpc" | "connect-h1" | "connect-h2" | "grpc-web";

/** A Connect client (connect-node) against a base URL with one protocol and HTTP version. */
export function connectApi(baseUrl: string, kind: ConnectKind, options: { name?: string; listener?: "grpc" | "http"; binary?: boolean } = {}): TokenServiceApi {
  const common = { baseUrl, defaultTimeoutMs: 10_000, ...(options.binary === false ? { useBinaryFormat: false } : {}) };
  let transport: Transport;
  let close: () => void;
  if (kind === "grpc" || kind === "connect-h2") {
    const sessionManager = new Http2SessionManager(baseUrl);
    transport =
      kind === "grpc"
        ? createGrpcTransport({ ...common, sessionManager }) // gRPC is HTTP/2 only
        : createConnectTransport({ ...common, httpVersion: "2", sessionManager });
    close = () => sessionManager.abort();
  } else {
    const agent = new Agent({ keepAlive: true });
    transport =
      kind === "grpc-web"
        ? createGrpcWebTransport({ ...common, httpVersion: "1.1", nodeOptions: { agent } })
        : createConnectTransport({ ...common, httpVersion: "1.1", nodeOptions: { agent } });
    close = () => agent.destroy();
  }
  const token = createClient(TokenService, transport);
  const health = createClient(Health, transport);
  return {
    name: options.name ?? `connect-node ${kind} → http listener`,
    listener: options.listener ?? "http",
    issueToken: (req, authorization) => token.issueToken(req, { headers: headersOf(authorization) }),
    introspect: (req, authorization) => token.introspect(req, { headers: headersOf(authorization) }),
    getJwks: () => token.getJwks({}),
    revoke: (req, authorization) => token.revoke(req, { headers: headersOf(authorization) }),
    exchangeToken: (req, authorization) => token.exchangeToken(req, { headers: headersOf(authorization) }),
    healthCheck: (service) => health.check({ service }),
    callError(err) {
      if (!(err instanceof ConnectError)) throw new Error(`not a ConnectError: ${String(err)}`);
      return { code: err.code, message: err.rawMessage, detail: err.findDetails(AuthErrorDetailSchema)[0] };
    },
    close: async () => close(),
  };
}

/** Awaits a call that must fail and returns its normalized error. */
export async function callFails(api: TokenServiceApi, call: Promise<unknown>): Promise<CallError> {
  let response: unknown;
  try {
    response = await call;
  } catch (err) {
    return api.callError(err);
  }
  throw new Error(
    `${api.name}: expected the call to fail, it returned ${JSON.stringify(response, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))}`,
  );
}
