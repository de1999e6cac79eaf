import type { DescService } from "@bufbuild/protobuf";
import {
  Metadata,
  ServerInterceptingCall,
  status as GrpcStatus,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerListener,
} from "@grpc/grpc-js";
import type { Counter } from "@opentelemetry/api";
import { InvalidTokenError } from "../../errors/tessera-error.js";
import { context } from "@opentelemetry/api";
import {
  type DecisionSpan,
  libraryInstruments,
  methodAttributes,
  refusalReason,
  startDecisionSpan,
  tracingRegistered,
} from "../../internal/library-telemetry.js";
import { toGrpcStatus } from "../../errors/to-grpc.js";
import type { ResolvedAuthRule } from "../../policy/auth-rule.js";
import { PUBLIC_SERVICES } from "../../policy/read-auth-rules.js";
import { mergeRules, type RulesByPath } from "../../policy/rules-by-path.js";
import type { Principal } from "../../verifier/principal.js";
import type { TokenVerifier } from "../../verifier/token-verifier.js";

/** Options of authServerInterceptor. */
export interface GrpcAuthOptions {
  verifier: TokenVerifier;
  /** The services served, whose proto options declare the rules (protobuf-es descriptors). */
  services?: readonly DescService[];
  /** Or rules already resolved by path (e.g. from servicesFromDescriptorSet). */
  rules?: RulesByPath;
}

/**
 * Where the caller is kept: a property of the call's metadata under a symbol of this module,
 * read-only and not enumerable (util.inspect and spreads do not show it). A WeakMap entry per
 * call cost ~1 µs per call in the echo bench, half of it in GC.
 */
const PRINCIPAL = Symbol("tessera.principal");
const NO_RULE = methodAttributes("(unknown)").refused("no_rule");

/**
 * The verified caller of a grpc-js handler, from the call's metadata;
 * undefined in public methods.
 *
 * @example
 * createEvent(call, callback) { const caller = grpcPrincipal(call); ... }
 */
export function grpcPrincipal(call: { readonly metadata: Metadata }): Principal | undefined {
  return (call.metadata as { [PRINCIPAL]?: Principal })[PRINCIPAL];
}

function ruleFor(rules: RulesByPath, path: string): ResolvedAuthRule | undefined {
  const rule = rules.get(path);
  if (rule !== undefined) return rule;
  const service = path.split("/")[1] ?? "";
  return PUBLIC_SERVICES.has(service) ? { kind: "public", source: "allow-list" } : undefined;
}

/**
 * The call's `authorization` metadata: its one value, or every value when
 * there are several (the verifier refuses two with invalid_request, never
 * picking one). A binary value is no bearer token: it reads as absent.
 */
function authorizationOf(metadata: Metadata): string | readonly string[] | undefined {
  const values = metadata.get("authorization");
  if (values.length > 1) return values.map((v) => (typeof v === "string" ? v : ""));
  const value = values[0];
  return typeof value === "string" ? value : undefined;
}

/**
 * A grpc-js server interceptor that enforces the auth rule each method
 * declares in its proto: no or bad token → UNAUTHENTICATED; a valid token
 * without the audience or scopes → PERMISSION_DENIED with the required scopes
 * in `grpc-status-details-bin` and a `www-authenticate` trailer; two
 * `authorization` entries → INVALID_ARGUMENT (invalid_request). A path
 * without a rule is refused. Streams are ended when the token expires or is
 * revoked. Building it throws AuthRuleError for any method without a rule, so
 * the server refuses to start. Handlers read the caller with grpcPrincipal(call).
 *
 * @example
 * const server = new grpc.Server({ interceptors: [authServerInterceptor({ verifier, services: [FilesService] })] });
 */
export function authServerInterceptor(options: GrpcAuthOptions): ServerInterceptor {
  const rules = mergeRules(options);
  const { verifier } = options;
  const { decisions } = libraryInstruments();
  const tracing = tracingRegistered();
  // Decision attributes per declared method, made once; an undeclared path is never an attribute value.
  const attributes = new Map<string, DecisionAttributes>();
  const attributesOf = (path: string) => {
    let found = attributes.get(path);
    if (found === undefined) {
      found = { ...methodAttributes(path), decisions, tracing };
      attributes.set(path, found);
    }
    return found;
  };
  return (method, call: ServerInterceptingCallInterface) => {
    const rule = ruleFor(rules, method.path);
    if (rule === undefined) return refusingCall(call, decisions);
    const decided = attributesOf(method.path);
    if (method.requestStream || method.responseStream) return streamingCall(verifier, rule, call, decided);
    // The unary path is every call's cost: two closures, and no promise when the token was verified before.
    return new ServerInterceptingCall(call, { start: startingUnary(verifier, rule, call, decided) });
  };
}

// A unary call's two closures are returned by these functions rather than written in place as
// object properties: esbuild's keepNames (tsx, which runs the source) names such a property's
// function with an Object.defineProperty per call (~0.3 µs each). Methods cannot serve: grpc-js
// calls responders and listeners detached from their objects; bind() costs more than a closure.
function startingUnary(verifier: TokenVerifier, rule: ResolvedAuthRule, call: ServerInterceptingCallInterface, decided: DecisionAttributes) {
  return (next: (listener: ServerListener) => void) => next({ onReceiveMetadata: authorizingMetadata(verifier, rule, call, decided) });
}

function authorizingMetadata(
  verifier: TokenVerifier,
  rule: ResolvedAuthRule,
  call: ServerInterceptingCallInterface,
  decided: DecisionAttributes,
  onCaller?: (caller: Principal) => void,
) {
  return (metadata: Metadata, next: (metadata: Metadata) => void) => authorizeCall(verifier, rule, call, decided, metadata, next, onCaller);
}

/** Where a method's decisions are counted. */
interface DecisionAttributes extends ReturnType<typeof methodAttributes> {
  readonly decisions: Counter;
  /** A tracer provider was registered when the interceptor was built: each decision is a span. */
  readonly tracing: boolean;
}

/** A streaming call: authorized like a unary one, then ended when its token expires or is revoked. */
function streamingCall(
  verifier: TokenVerifier,
  rule: ResolvedAuthRule,
  call: ServerInterceptingCallInterface,
  decided: DecisionAttributes,
): ServerInterceptingCall {
  let stopWatching: (() => void) | undefined;
  const watch = (caller: Principal) => {
    stopWatching = verifier.watch(caller.claims, (reason) =>
      refuse(call, new InvalidTokenError(`the token ${reason === "expired" ? "expired" : "was revoked"} during the stream`)),
    );
  };
  return new ServerInterceptingCall(call, {
    start: (next) =>
      next({
        onReceiveMetadata: authorizingMetadata(verifier, rule, call, decided, watch),
        onCancel: () => stopWatching?.(),
      }),
    sendStatus: (status, next) => {
      stopWatching?.();
      next(status);
    },
  });
}

/** Checks the call's token against its rule; lets the call go on (now, or once the token is verified) or ends it with the error's status. */
function authorizeCall(
  verifier: TokenVerifier,
  rule: ResolvedAuthRule,
  call: ServerInterceptingCallInterface,
  decided: DecisionAttributes,
  metadata: Metadata,
  next: (metadata: Metadata) => void,
  onCaller?: (caller: Principal) => void,
): void {
  const authorization = authorizationOf(metadata);
  const span = decided.tracing ? startDecisionSpan(decided.span, (key) => textOf(metadata, key)) : undefined;
  let known: { principal: Principal | undefined } | undefined;
  try {
    known = verifier.checkNow(authorization, rule);
  } catch (err) {
    refuseCall(call, decided, span, err);
    return;
  }
  if (known !== undefined) {
    span?.end();
    decided.decisions.add(1, decided.allowed);
    admit(metadata, known.principal, next, onCaller);
  } else
    (span === undefined ? verifier.check(authorization, rule) : context.with(span.context, () => verifier.check(authorization, rule))).then(
      (caller) => {
        span?.end();
        decided.decisions.add(1, decided.allowed);
        admit(metadata, caller, next, onCaller);
      },
      (err: unknown) => refuseCall(call, decided, span, err),
    );
}

function refuseCall(call: ServerInterceptingCallInterface, decided: DecisionAttributes, span: DecisionSpan | undefined, err: unknown): void {
  span?.end(err);
  decided.decisions.add(1, decided.refused(refusalReason(err)));
  refuse(call, err);
}

/** A metadata entry as text (a trace header); undefined when absent or binary. */
function textOf(metadata: Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === "string" ? value : undefined;
}

function admit(metadata: Metadata, caller: Principal | undefined, next: (metadata: Metadata) => void, onCaller?: (caller: Principal) => void): void {
  if (caller !== undefined) {
    // Configurable: a second interceptor of ours on the same call replaces it instead of throwing.
    Object.defineProperty(metadata, PRINCIPAL, { value: caller, configurable: true });
    onCaller?.(caller);
  }
  next(metadata);
}

function refuse(call: ServerInterceptingCallInterface, err: unknown): void {
  call.sendStatus(toGrpcStatus(err));
}

/** A call to a method without an auth rule: refused as soon as its metadata arrives. */
function refusingCall(call: ServerInterceptingCallInterface, decisions: Counter): ServerInterceptingCall {
  return new ServerInterceptingCall(call, {
    start: (next) =>
      next({
        onReceiveMetadata: () => {
          decisions.add(1, NO_RULE);
          call.sendStatus({ code: GrpcStatus.PERMISSION_DENIED, details: "no auth rule is declared for this method", metadata: new Metadata() });
        },
      }),
  });
}
