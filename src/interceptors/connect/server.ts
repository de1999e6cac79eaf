import type { DescMethod } from "@bufbuild/protobuf";
import { context } from "@opentelemetry/api";
import {
  type DecisionSpan,
  libraryInstruments,
  methodAttributes,
  refusalReason,
  startDecisionSpan,
  tracingRegistered,
} from "../../internal/library-telemetry.js";
import {
  Code,
  ConnectError,
  createContextKey,
  createContextValues,
  type ConnectRouter,
  type ContextValues,
  type HandlerContext,
  type Interceptor,
  type StreamRequest,
  type StreamResponse,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import type { Counter } from "@opentelemetry/api";
import { InvalidRequestError, InvalidTokenError } from "../../errors/tessera-error.js";
import { toConnectError } from "../../errors/to-connect.js";
import { findAuthRule } from "../../policy/read-auth-rules.js";
import { authRulesOf } from "../../policy/read-auth-rules.js";
import type { AccessTokenClaims } from "../../verifier/access-token-claims.js";
import type { AuthorizationHeader } from "../../verifier/bearer-token.js";
import type { Principal } from "../../verifier/principal.js";
import type { TokenVerifier } from "../../verifier/token-verifier.js";
import { rawHeaderValues } from "../../internal/raw-headers.js";

/** The verified caller of a Connect handler; undefined for public methods. */
export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "tessera principal" });

/** Every `authorization` header of the request as received, when the adapter sets authContextValues. */
const authorizationHeadersKey = createContextKey<readonly string[] | undefined>(undefined, { description: "tessera authorization headers" });

/**
 * Context values for `connectNodeAdapter` that show authInterceptor every
 * `authorization` header of a request. Node keeps only the first one in
 * `request.headers` (HTTP/1.1 and HTTP/2 alike), so without this a second
 * header is dropped before any interceptor sees it; with it, two are refused
 * with INVALID_ARGUMENT (invalid_request) instead of one being picked.
 * Headers that a server or proxy joined into one value ("Bearer a, Bearer b")
 * are refused either way. To add values of your own, pass them as `values`.
 *
 * @example
 * connectNodeAdapter({ routes, contextValues: (req) => authContextValues(req) });
 */
export function authContextValues(request: { readonly rawHeaders: readonly string[] }, values: ContextValues = createContextValues()): ContextValues {
  return values.set(authorizationHeadersKey, rawHeaderValues(request.rawHeaders, "authorization"));
}

/**
 * The verified caller of a Connect handler. Throws in a method without a
 * bearer rule (there is no caller to speak of there).
 *
 * @example
 * createEvent(req, ctx) { const caller = principal(ctx); ... caller.clientId ... }
 */
export function principal(ctx: HandlerContext): Principal {
  const value = ctx.values.get(principalKey);
  if (value === undefined) throw new ConnectError("no authenticated caller on this call", Code.Internal);
  return value;
}

/** Ends a response stream with UNAUTHENTICATED once the token expires or is revoked. */
async function* untilTokenEnds<T>(messages: AsyncIterable<T>, verifier: TokenVerifier, claims: AccessTokenClaims): AsyncIterable<T> {
  let stopWatching: () => void = () => {};
  const ended = new Promise<"expired" | "revoked">((resolve) => {
    stopWatching = verifier.watch(claims, resolve);
  });
  const iterator = messages[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), ended]);
      if (typeof next === "string")
        throw toConnectError(new InvalidTokenError(`the token ${next === "expired" ? "expired" : "was revoked"} during the stream`));
      if (next.done) return;
      yield next.value;
    }
  } finally {
    stopWatching();
    void iterator.return?.();
  }
}

/**
 * A Connect server interceptor that enforces the auth rule each method
 * declares in its proto (tessera.v1.method_auth / service_auth): no or bad
 * token → UNAUTHENTICATED; a valid token without the audience or scopes →
 * PERMISSION_DENIED with the required scopes in the error details and a
 * `www-authenticate` header; two `authorization` headers, or an
 * `access_token` query parameter → INVALID_ARGUMENT (invalid_request; see
 * authContextValues for Node, which drops a second header).
 * Streams are checked at start and ended when the token expires or is revoked. The caller reaches handlers as principal(ctx).
 * A method without a rule is refused (prefer protect(), which refuses to start).
 *
 * @example
 * connectNodeAdapter({ routes, interceptors: [authInterceptor(verifier)] });
 */
export function authInterceptor(verifier: TokenVerifier): Interceptor {
  const { decisions } = libraryInstruments();
  const tracing = tracingRegistered();
  const attributes = new WeakMap<object, ReturnType<typeof methodAttributes>>();
  const attributesOf = (method: DescMethod) => {
    let found = attributes.get(method);
    if (found === undefined) {
      found = methodAttributes(`/${method.parent.typeName}/${method.name}`);
      attributes.set(method, found);
    }
    return found;
  };
  // Not an async function: a token already verified, or one whose key is at hand, is answered and
  // passed on without a promise of ours (the async path is taken only when the token waits for its key).
  return (next) => (req) => {
    const rule = findAuthRule(req.method);
    if (rule === undefined) return Promise.reject(new ConnectError("no auth rule is declared for this method", Code.PermissionDenied));
    const decided = attributesOf(req.method);
    const span = tracing ? startDecisionSpan(decided.span, (key) => req.header.get(key) ?? undefined) : undefined;
    let authorization: AuthorizationHeader;
    let known: { principal: Principal | undefined } | undefined;
    try {
      if (req.url.includes("access_token") && new URL(req.url).searchParams.has("access_token")) {
        // RFC 6750 §2.3 tokens in the query are not accepted here, and a second credential next to a header is refused, never ignored.
        throw new InvalidRequestError("access tokens are accepted only in the authorization header, not in the query");
      }
      const received = req.contextValues.get(authorizationHeadersKey);
      authorization = received !== undefined && received.length > 1 ? received : req.header.get("authorization");
      known = verifier.checkNow(authorization, rule);
    } catch (err) {
      return Promise.reject(refusal(decisions, decided, span, err));
    }
    if (known !== undefined) {
      span?.end();
      decisions.add(1, decided.allowed);
      return proceed(verifier, next, req, known.principal);
    }
    const check = () => verifier.check(authorization, rule);
    return (span === undefined ? check() : context.with(span.context, check)).then(
      (caller) => {
        span?.end();
        decisions.add(1, decided.allowed);
        return proceed(verifier, next, req, caller);
      },
      (err: unknown) => {
        throw refusal(decisions, decided, span, err);
      },
    );
  };
}

/** Records a refused call and makes the error to answer it with. */
function refusal(decisions: Counter, decided: ReturnType<typeof methodAttributes>, span: DecisionSpan | undefined, err: unknown): ConnectError {
  span?.end(err);
  decisions.add(1, decided.refused(refusalReason(err)));
  return toConnectError(err);
}

/** Passes an admitted call on, with its caller in the context values; a response stream ends when the caller's token does. */
function proceed(
  verifier: TokenVerifier,
  next: (req: UnaryRequest | StreamRequest) => Promise<UnaryResponse | StreamResponse>,
  req: UnaryRequest | StreamRequest,
  caller: Principal | undefined,
): Promise<UnaryResponse | StreamResponse> {
  if (caller === undefined) return next(req);
  req.contextValues.set(principalKey, caller);
  const kind = req.method.methodKind;
  if (kind === "unary" || kind === "client_streaming") return next(req);
  return next(req).then((res) => (res.stream ? { ...res, message: untilTokenEnds(res.message, verifier, caller.claims) } : res));
}

/**
 * Wraps Connect routes so that every service registered on them is protected
 * by authInterceptor, and checks the rules of every method when the routes
 * are built: a method without a declared rule makes the server refuse to
 * start (AuthRuleError names it).
 *
 * @example
 * const verifier = remoteVerifier({ issuer: "http://127.0.0.1:8080" });
 * await verifier.start();
 * http2.createServer(connectNodeAdapter({
 *   routes: protect(verifier, (router) => router.service(CalendarService, calendar)),
 *   contextValues: (req) => authContextValues(req),
 * })).listen(8443);
 */
export function protect(verifier: TokenVerifier, routes: (router: ConnectRouter) => void): (router: ConnectRouter) => void {
  const interceptor = authInterceptor(verifier);
  return (router) => {
    const guarded: ConnectRouter = {
      get handlers() {
        return router.handlers;
      },
      service(service, implementation, options) {
        authRulesOf(service);
        router.service(service, implementation, { ...options, interceptors: [interceptor, ...(options?.interceptors ?? [])] });
        return this;
      },
      rpc(method, impl, options) {
        if (findAuthRule(method) === undefined) authRulesOf(method.parent);
        router.rpc(method, impl, { ...options, interceptors: [interceptor, ...(options?.interceptors ?? [])] });
        return this;
      },
    };
    routes(guarded);
  };
}
