import { injectTraceContext } from "../../internal/library-telemetry.js";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { AuthErrorDetailSchema } from "../../../gen/tessera/v1/token_service_pb.js";
import { toConnectError } from "../../errors/to-connect.js";
import { findAuthRule } from "../../policy/read-auth-rules.js";
import type { TokenSource } from "../../token-source/token-source.js";
import { tokenForRule } from "../../token-source/token-for-rule.js";
import { cleartextRefusal, isLoopbackHost } from "../transport-security.js";

/** Options of tokenInterceptor. */
export interface TokenInterceptorOptions {
  /** Where tokens come from (cached, refreshed ahead, single-flight). */
  tokens: TokenSource;
  /** Send tokens over cleartext HTTP to hosts that are not loopback. Default false: refused. */
  allowInsecure?: boolean;
}

function refusedAsInvalidToken(err: ConnectError): boolean {
  if (err.code !== Code.Unauthenticated) return false;
  const detail = err.findDetails(AuthErrorDetailSchema)[0];
  if (detail !== undefined) return detail.error === "invalid_token";
  return /error="invalid_token"/.test(err.metadata.get("www-authenticate") ?? "");
}

/**
 * A Connect client interceptor that attaches `authorization: Bearer` to every
 * call of a method with a bearer rule: a token for the rule's audience with
 * the least scopes the rule needs (read from the called method's proto
 * options; of any-of alternatives, the first the client is granted), from a
 * TokenSource. Public methods go without a token. When the
 * server refuses the token as invalid (e.g. revoked), the token is dropped and
 * a unary call is retried once with a new one. Token service down → UNAVAILABLE.
 *
 * @example
 * const tokens = new TokenSource({ fetch: clientCredentialsFetcher({ tokenEndpoint, clientId: "tasks", auth }) });
 * const transport = createGrpcTransport({ baseUrl: "http://127.0.0.1:50051", interceptors: [tokenInterceptor({ tokens })] });
 * const calendar = createClient(CalendarService, transport);
 */
export function tokenInterceptor(options: TokenInterceptorOptions): Interceptor {
  const { tokens } = options;
  return (next) => async (req) => {
    const rule = findAuthRule(req.method);
    if (rule === undefined) throw new ConnectError(`no auth rule is declared for ${req.method.parent.typeName}.${req.method.name}`, Code.FailedPrecondition);
    if (rule.kind !== "bearer") return next(req);
    const url = new URL(req.url);
    if (url.protocol !== "https:" && !options.allowInsecure && !isLoopbackHost(url.hostname)) {
      throw new ConnectError(cleartextRefusal(url.host), Code.FailedPrecondition);
    }
    const fetchToken = async () => {
      try {
        return await tokenForRule(tokens, rule);
      } catch (err) {
        throw toConnectError(err);
      }
    };
    if (!req.header.has("traceparent")) injectTraceContext((key, value) => req.header.set(key, value));
    let { token, scopes } = await fetchToken();
    req.header.set("authorization", `Bearer ${token}`);
    try {
      return await next(req);
    } catch (err) {
      const connectErr = ConnectError.from(err);
      if (!refusedAsInvalidToken(connectErr)) throw err;
      tokens.invalidate(rule.audience, scopes, token);
      if (req.stream) throw err;
      ({ token, scopes } = await fetchToken());
      req.header.set("authorization", `Bearer ${token}`);
      return next(req);
    }
  };
}
