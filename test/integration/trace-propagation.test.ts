// W3C trace context through our client interceptors: a `traceparent` the application sets reaches
// the server untouched, and without one the application's active span is propagated. Real servers
// (the calendar mesh on grpc-js and Connect), real clients, and the OpenTelemetry SDK with its W3C
// propagator and AsyncLocalStorage context manager. The server interceptors' `tessera.authorize`
// span, parented by the context the call carried, shows what arrived.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { context, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { type CalendarClientKind, calendarClient } from "../helpers/calendar-clients.js";
import { meshTokens, useCalendarMesh } from "../helpers/mesh.js";

// Registered before the mesh is built: interceptors ask once, when built, whether to make spans.
const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(tracerProvider);
after(async () => {
  await tracerProvider.shutdown();
  trace.disable();
  propagation.disable();
  context.disable();
});

const mesh = useCalendarMesh();
const KINDS: CalendarClientKind[] = ["grpc-js", "connect-grpc", "connect-2", "connect-1.1", "grpc-web"];

/** A traceparent the application made itself (not from any span of this process), and a tracestate. */
function applicationTrace(i: number): { traceparent: string; tracestate: string; traceId: string; spanId: string } {
  const traceId = `${"4bf92f3577b34da6a3ce929d0e0e4736".slice(0, 30)}${i.toString(16).padStart(2, "0")}`;
  const spanId = `00f067aa0ba902${i.toString(16).padStart(2, "0")}`;
  return { traceparent: `00-${traceId}-${spanId}-01`, tracestate: `vendor=opaque-${i},other=x`, traceId, spanId };
}

/** The server's decision spans of trace `traceId`. */
function authorizeSpans(traceId: string): ReadableSpan[] {
  return spans.getFinishedSpans().filter((s) => s.name === "tessera.authorize" && s.spanContext().traceId === traceId);
}

function serialized(span: ReadableSpan): string {
  const parent = span.parentSpanContext!;
  return `00-${parent.traceId}-${parent.spanId}-${parent.traceFlags.toString(16).padStart(2, "0")}`;
}

describe("W3C trace context through the client interceptors", () => {
  KINDS.forEach((kind, i) => {
    test(`${kind}: the application's traceparent and tracestate reach the server untouched, even inside an active span`, async () => {
      const { tokens } = meshTokens(mesh.tessera.server, "tasks");
      const app = applicationTrace(i + 1);
      const target = kind === "grpc-js" ? mesh.calendars.grpcAddress : mesh.calendars.connectUrl;
      const client = mesh.track(calendarClient(kind, target, { tokens, headers: { traceparent: app.traceparent, tracestate: app.tracestate } }));
      // An active span of the application's own: the interceptor must not replace the header the call carries with it.
      await trace.getTracer("app").startActiveSpan("app.unrelated", async (span) => {
        await client.listEvents();
        span.end();
      });
      const [decision] = authorizeSpans(app.traceId);
      assert.ok(decision, `no tessera.authorize span in trace ${app.traceId}: ${spans.getFinishedSpans().map((s) => s.name)}`);
      assert.equal(serialized(decision), app.traceparent);
      assert.equal(decision.parentSpanContext?.traceState?.serialize(), app.tracestate);
      assert.equal(decision.parentSpanContext?.isRemote, true);
      assert.equal(decision.attributes["rpc.method"], "ListEvents");
    });

    test(`${kind}: without a traceparent, the application's active span is propagated`, async () => {
      const { tokens } = meshTokens(mesh.tessera.server, "tasks");
      const target = kind === "grpc-js" ? mesh.calendars.grpcAddress : mesh.calendars.connectUrl;
      const client = mesh.track(calendarClient(kind, target, { tokens }));
      const caller = await trace.getTracer("app").startActiveSpan("app.call", async (span) => {
        await client.listEvents();
        span.end();
        return span.spanContext();
      });
      const [decision] = authorizeSpans(caller.traceId);
      assert.ok(decision, `no tessera.authorize span in trace ${caller.traceId}`);
      assert.equal(decision.parentSpanContext?.spanId, caller.spanId);
      // The token the interceptor fetched for the call is fetched in the same trace, under the application's span.
      const fetched = spans.getFinishedSpans().find((s) => s.name === "tessera.token_source.fetch" && s.spanContext().traceId === caller.traceId);
      assert.equal(fetched?.parentSpanContext?.spanId, caller.spanId);
    });
  });

  test("a refused call's decision span records the refusal", async () => {
    const app = applicationTrace(99);
    const client = mesh.track(
      calendarClient("grpc-js", mesh.calendars.grpcAddress, { authorization: "Bearer not.a.token", headers: { traceparent: app.traceparent } }),
    );
    await assert.rejects(client.listEvents());
    const [decision] = authorizeSpans(app.traceId);
    assert.equal(decision?.status.code, 2 /* ERROR */);
    assert.equal(decision?.status.message, "invalid_token");
  });
});
