// The library side's metrics and traces (interceptors, verifier, token source, remote key sets),
// through @opentelemetry/api only: a library must not choose the application's backend. Without an
// SDK registered every instrument and span is the API's no-op. Instruments are made when a component
// is built (an SDK registered later is picked up by components built later), and attribute objects
// are made once, so that a call pays a no-op method call and nothing else.
import {
  type Attributes,
  type Context,
  type Counter,
  context,
  INVALID_SPAN_CONTEXT,
  metrics,
  ProxyTracerProvider,
  propagation,
  type Span,
  SpanStatusCode,
  trace,
  type Tracer,
} from "@opentelemetry/api";

const SCOPE = "tessera";

/** The instruments a component records into. */
export interface LibraryInstruments {
  /** tessera.auth.decisions{service, method, result, reason}: one per call an interceptor decided. */
  readonly decisions: Counter;
  /** tessera.verifier.verifications{kind}: first_sight (signature checked) or cached. */
  readonly verifications: Counter;
  /** tessera.jwks.fetches{result}: key set fetches of remote key sets. */
  readonly jwksFetches: Counter;
  /** tessera.token_source.requests{kind, result}: token fetches, first or refresh. */
  readonly tokenRequests: Counter;
  readonly tracer: Tracer;
}

let made: { provider: unknown; instruments: LibraryInstruments } | undefined;

/** The instruments of the meter provider registered now (the API's no-op one when none is). */
export function libraryInstruments(): LibraryInstruments {
  const provider = metrics.getMeterProvider();
  if (made?.provider === provider) return made.instruments;
  const meter = provider.getMeter(SCOPE);
  const instruments: LibraryInstruments = {
    decisions: meter.createCounter("tessera.auth.decisions", { description: "Calls an auth interceptor decided, by service, method, result and reason." }),
    verifications: meter.createCounter("tessera.verifier.verifications", {
      description: "Bearer tokens verified, by kind: first_sight (signature checked) or cached.",
    }),
    jwksFetches: meter.createCounter("tessera.jwks.fetches", { description: "JWKS fetches of remote key sets, by result." }),
    tokenRequests: meter.createCounter("tessera.token_source.requests", {
      description: "Token requests of a token source, by kind (first, refresh) and result.",
    }),
    tracer: trace.getTracer(SCOPE),
  };
  made = { provider, instruments };
  return instruments;
}

export const FIRST_SIGHT: Attributes = Object.freeze({ kind: "first_sight" });
export const CACHED: Attributes = Object.freeze({ kind: "cached" });

/** Where a method is, for decision attributes: "/pkg.Service/Method" → service and method; made once per method. */
export function methodAttributes(path: string): { allowed: Attributes; refused: (reason: string) => Attributes; span: Attributes } {
  const slash = path.lastIndexOf("/");
  const service = slash > 0 ? path.slice(1, slash) : "(unknown)";
  const method = slash > 0 ? path.slice(slash + 1) : "(unknown)";
  const allowed = Object.freeze({ service, method, result: "allowed", reason: "ok" });
  const refusals = new Map<string, Attributes>();
  return {
    allowed,
    span: Object.freeze({ "rpc.service": service, "rpc.method": method }),
    refused: (reason) => {
      let attributes = refusals.get(reason);
      if (attributes === undefined) {
        attributes = Object.freeze({ service, method, result: "refused", reason });
        refusals.set(reason, attributes);
      }
      return attributes;
    },
  };
}

const serviceTracer = trace.getTracer(SCOPE);

/** The token service's tracer (a proxy: it follows a tracer provider registered later). */
export function tracer(): Tracer {
  return serviceTracer;
}

/** The OAuth error of a refusal (bounded: the error model's codes), for a `reason` attribute. */
export function refusalReason(err: unknown): string {
  const error = (err as { error?: unknown } | null)?.error;
  return typeof error === "string" ? error : "internal";
}

/** What `inSpan` hands its function without an SDK: the API's span that records nothing (stateless, shared). */
const NON_RECORDING_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * Runs `run` in a span, ending it with the outcome. Without an SDK it is run at once with a span that
 * records nothing, as the API's no-op tracer would hand it, without the context and promise around it
 * (a token request pays for that otherwise); a tracer provider registered later is seen on the next call.
 */
export function inSpan<T>(tracer: Tracer, name: string, attributes: Attributes, run: (span: Span) => Promise<T>): Promise<T> {
  if (!tracingRegistered()) {
    try {
      return run(NON_RECORDING_SPAN);
    } catch (err) {
      return Promise.reject(err);
    }
  }
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await run(span);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: refusalReason(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

/**
 * Whether an SDK's tracer provider is registered now. Asked once when a component is built, so
 * that without one its per-call path makes no span object at all, not even the API's no-op.
 */
export function tracingRegistered(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegateTracer(SCOPE) !== undefined;
}

/** A span around one interceptor decision: `context` runs the asynchronous verification under it; `end` once, with the refusal if any. */
export interface DecisionSpan {
  readonly context: Context;
  end(err?: unknown): void;
}

/** Starts `tessera.authorize` for a call, its parent the trace context the call carries (per the application's propagator). */
export function startDecisionSpan(attributes: Attributes, header: (key: string) => string | undefined): DecisionSpan {
  const parent = extractTraceContext(header);
  const span = serviceTracer.startSpan("tessera.authorize", { attributes }, parent);
  return {
    context: trace.setSpan(parent, span),
    end(err) {
      if (err !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: refusalReason(err) });
      span.end();
    },
  };
}

/** Writes the active trace context into outgoing metadata or headers, with the propagator the application registered (none: nothing). */
export function injectTraceContext(set: (key: string, value: string) => void): void {
  propagation.inject(context.active(), undefined, { set: (_carrier, key, value) => set(key, value) });
}

/** The trace context incoming metadata or headers carry, per the application's propagator. */
export function extractTraceContext(get: (key: string) => string | undefined) {
  return propagation.extract(context.active(), undefined, {
    get: (_carrier, key) => get(key),
    keys: () => ["traceparent", "tracestate", "baggage"],
  });
}
