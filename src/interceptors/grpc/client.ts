import { injectTraceContext } from "../../internal/library-telemetry.js";
import type { DescService } from "@bufbuild/protobuf";
import {
  credentials,
  InterceptingCall,
  Metadata,
  status as GrpcStatus,
  type CallCredentials,
  type Interceptor,
  type InterceptingListener,
  type StatusObject,
} from "@grpc/grpc-js";
import { toGrpcStatus } from "../../errors/to-grpc.js";
import type { ResolvedAuthRule } from "../../policy/auth-rule.js";
import { mergeRules, type RulesByPath } from "../../policy/rules-by-path.js";
import type { TokenSource } from "../../token-source/token-source.js";
import { tokenForRule } from "../../token-source/token-for-rule.js";
import { cleartextRefusal, isLoopbackHost } from "../transport-security.js";
import { authErrorDetail } from "./status-detail.js";

/** Options of tokenClientInterceptor and tokenCallCredentials. */
export interface GrpcTokenOptions {
  /** Where tokens come from (cached, refreshed ahead, single-flight). */
  tokens: TokenSource;
  /** The services called, whose proto options say which audience and scopes each method needs. */
  services?: readonly DescService[];
  /** Or rules already resolved by path (e.g. from servicesFromDescriptorSet). */
  rules?: RulesByPath;
}

function bearerRule(rules: RulesByPath, path: string): Extract<ResolvedAuthRule, { kind: "bearer" }> | undefined {
  const rule = rules.get(path);
  return rule?.kind === "bearer" ? rule : undefined;
}

function refusedAsInvalidToken(status: StatusObject): boolean {
  if (status.code !== GrpcStatus.UNAUTHENTICATED) return false;
  const detail = authErrorDetail(status.metadata);
  if (detail !== undefined) return detail.error === "invalid_token";
  const challenge = status.metadata.get("www-authenticate")[0];
  return typeof challenge === "string" && /error="invalid_token"/.test(challenge);
}

function statusOf(err: unknown): StatusObject {
  const { code, details, metadata } = toGrpcStatus(err);
  return { code, details, metadata };
}

/**
 * A grpc-js client interceptor that attaches `authorization: Bearer` to calls
 * of methods with a bearer rule: a token for the rule's audience with the
 * least scopes it needs, from a TokenSource. When the server refuses the token
 * as invalid (e.g. revoked), it is dropped and a unary call is retried once
 * with a new one. Token service down → UNAVAILABLE.
 *
 * Insecure channels: tokens go only to loopback targets unless allowInsecure;
 * `channel` says where the client connects.
 *
 * @example
 * const client = new FilesClient("127.0.0.1:50052", grpc.credentials.createInsecure(), {
 *   interceptors: [tokenClientInterceptor({ tokens, services: [FilesService], channel: { target: "127.0.0.1:50052", tls: false } })],
 * });
 */
export function tokenClientInterceptor(options: GrpcTokenOptions & { channel: { target: string; tls: boolean }; allowInsecure?: boolean }): Interceptor {
  const host = options.channel.target.replace(/^dns:(\/\/\/)?/, "").replace(/:\d+$/, "");
  if (!options.channel.tls && !options.allowInsecure && !isLoopbackHost(host)) throw new Error(cleartextRefusal(options.channel.target));
  const rules = mergeRules(options);
  const { tokens } = options;

  return (callOptions, nextCall) => {
    const definition = callOptions.method_definition;
    const rule = bearerRule(rules, definition.path);
    if (rule === undefined) return new InterceptingCall(nextCall(callOptions));
    const unary = !definition.requestStream && !definition.responseStream;
    let sentMessage: unknown;
    const underlying = nextCall(callOptions);

    return new InterceptingCall(underlying, {
      start(metadata, listener, next) {
        const fail = (err: unknown) => {
          const status = statusOf(err);
          // The underlying call was never started: cancel it, or its deadline timer outlives the call.
          underlying.cancelWithStatus(status.code, status.details);
          listener.onReceiveStatus(status);
        };
        // The application's trace context (with its registered propagator), unless the call carries one already.
        if (metadata.get("traceparent").length === 0) injectTraceContext((key, value) => metadata.set(key, value));
        tokenForRule(tokens, rule).then((got) => {
          metadata.set("authorization", `Bearer ${got.token}`);
          if (!unary) return next(metadata, listener);
          const retry: RetryOnce = { tokens, rule, first: got, metadata, listener, again: () => nextCall(callOptions), sent: () => sentMessage };
          next(metadata, retryOnceOnInvalidToken(retry));
        }, fail);
      },
      sendMessage(message, next) {
        sentMessage = message;
        next(message);
      },
    });
  };
}

type UnderlyingCall = ReturnType<Parameters<Interceptor>[1]>;

interface RetryOnce {
  tokens: TokenSource;
  rule: Extract<ResolvedAuthRule, { kind: "bearer" }>;
  /** The token the first attempt carries. */
  first: { token: string; scopes: readonly string[] };
  metadata: Metadata;
  /** The caller's listener: it sees one attempt's answer only. */
  listener: InterceptingListener;
  /** A new underlying call for the second attempt. */
  again: () => UnderlyingCall;
  /** The unary request as sent on the first attempt. */
  sent: () => unknown;
}

/**
 * The first attempt's listener of a unary call: its answer is held until its
 * status says whether to retry. A refusal as invalid_token (e.g. revoked)
 * drops that token and sends the request once more with a fresh one.
 */
function retryOnceOnInvalidToken(r: RetryOnce): InterceptingListener {
  let receivedMetadata: Metadata | undefined;
  let received: unknown;
  let receivedAny = false;
  return {
    onReceiveMetadata: (md) => {
      receivedMetadata = md;
    },
    onReceiveMessage: (message) => {
      received = message;
      receivedAny = true;
    },
    onReceiveStatus: (status) => {
      if (!refusedAsInvalidToken(status)) {
        if (receivedMetadata !== undefined) r.listener.onReceiveMetadata(receivedMetadata);
        if (receivedAny) r.listener.onReceiveMessage(received);
        r.listener.onReceiveStatus(status);
        return;
      }
      r.tokens.invalidate(r.rule.audience, r.first.scopes, r.first.token);
      tokenForRule(r.tokens, r.rule).then(
        (fresh) => {
          const retryMetadata = r.metadata.clone();
          retryMetadata.set("authorization", `Bearer ${fresh.token}`);
          const call = r.again();
          call.start(retryMetadata, {
            onReceiveMetadata: (md) => r.listener.onReceiveMetadata(md),
            onReceiveMessage: (message) => r.listener.onReceiveMessage(message),
            onReceiveStatus: (s) => r.listener.onReceiveStatus(s),
          });
          call.sendMessage(r.sent());
          call.halfClose();
        },
        (err: unknown) => r.listener.onReceiveStatus(statusOf(err)),
      );
    },
  };
}

/**
 * grpc-js CallCredentials with the same tokens, for TLS channels (grpc-js
 * never sends call credentials over an insecure channel). Combine with
 * grpc.credentials.combineChannelCredentials(createSsl(...), tokenCallCredentials(...)).
 * No retry on a refused token: use tokenClientInterceptor for that.
 *
 * @example
 * const channel = credentials.combineChannelCredentials(credentials.createSsl(ca), tokenCallCredentials({ tokens, services: [FilesService] }));
 * const files = new FilesClient("files.internal:443", channel);
 */
export function tokenCallCredentials(options: GrpcTokenOptions): CallCredentials {
  const rules = mergeRules(options);
  return credentials.createFromMetadataGenerator((params, callback) => {
    const service = new URL(params.service_url).pathname.replace(/^\//, "");
    const rule = bearerRule(rules, `/${service}/${params.method_name}`);
    const metadata = new Metadata();
    if (rule === undefined) return callback(null, metadata);
    tokenForRule(options.tokens, rule).then(
      ({ token }) => {
        metadata.set("authorization", `Bearer ${token}`);
        callback(null, metadata);
      },
      (err: unknown) => callback(Object.assign(new Error(statusOf(err).details), { code: statusOf(err).code })),
    );
  });
}
