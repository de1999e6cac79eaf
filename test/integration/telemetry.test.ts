// The library side's OpenTelemetry metrics and traces, recorded by the real SDKs with in-memory
// readers, after real calls through the grpc-js interceptors of the calendar mesh. The SDKs are
// registered before anything is built: instruments are made when a component is.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { metrics, trace } from "@opentelemetry/api";
import { type CollectionResult, MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { calendarClient } from "../helpers/calendar-clients.js";
import { CALENDAR, meshTokens, useCalendarMesh } from "../helpers/mesh.js";

class InMemoryReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

const reader = new InMemoryReader();
const meterProvider = new MeterProvider({ readers: [reader] });
const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
metrics.setGlobalMeterProvider(meterProvider);
trace.setGlobalTracerProvider(tracerProvider);
after(async () => {
  await meterProvider.shutdown();
  await tracerProvider.shutdown();
  metrics.disable();
  trace.disable();
});

const mesh = useCalendarMesh();

/** Every data point of a metric: its attributes and value. */
function points(collected: CollectionResult, name: string): { attributes: Record<string, unknown>; value: number }[] {
  return collected.resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .filter((m) => m.descriptor.name === name)
    .flatMap((m) => m.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value as number })));
}

function pointValue(collected: CollectionResult, name: string, attributes: Record<string, unknown>): number {
  const match = points(collected, name).find((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v));
  return match?.value ?? 0;
}

describe("library telemetry with an SDK registered", () => {
  test("decisions, first-sight and cached verifications, JWKS fetches, token requests; spans of the token service and the token source", async () => {
    const { tokens } = meshTokens(mesh.tessera.server, "tasks");
    const client = mesh.track(calendarClient("grpc-js", mesh.calendars.grpcAddress, { tokens }));
    await client.listEvents();
    await client.listEvents();
    const stranger = mesh.track(calendarClient("grpc-js", mesh.calendars.grpcAddress, { authorization: "Bearer not.a.token" }));
    await assert.rejects(stranger.listEvents());

    const { resourceMetrics, errors } = await reader.collect();
    assert.deepEqual(errors, []);
    const collected = { resourceMetrics, errors };
    const service = CALENDAR;
    assert.equal(pointValue(collected, "tessera.auth.decisions", { service, method: "ListEvents", result: "allowed", reason: "ok" }), 2);
    assert.equal(pointValue(collected, "tessera.auth.decisions", { service, method: "ListEvents", result: "refused", reason: "invalid_token" }), 1);
    assert.equal(pointValue(collected, "tessera.verifier.verifications", { kind: "first_sight" }), 1);
    assert.ok(pointValue(collected, "tessera.verifier.verifications", { kind: "cached" }) >= 1);
    assert.ok(pointValue(collected, "tessera.jwks.fetches", { result: "ok" }) >= 1);
    assert.equal(pointValue(collected, "tessera.token_source.requests", { kind: "first", result: "ok" }), 1);

    const names = spans.getFinishedSpans().map((s) => s.name);
    assert.ok(names.includes("tessera.issue_token"), names.join());
    assert.ok(names.includes("tessera.token_source.fetch"), names.join());
    const issued = spans.getFinishedSpans().find((s) => s.name === "tessera.issue_token")!;
    assert.equal(issued.attributes["tessera.audience"], CALENDAR);
  });
});
