// Redis calls of a real Tessera on a real Redis: their durations in the Prometheus command latency
// histogram, and their spans under the OAuth endpoint's span, recorded by the real OpenTelemetry SDK
// (with the AsyncLocalStorage context manager an application's SDK setup registers).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { TesseraServer } from "../../src/server/tessera-server.js";
import { basicAuthorization, fixtureConfig, SECRETS } from "../helpers/fixtures.js";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { startCapturedServer } from "../helpers/start-server.js";
import { until } from "../helpers/wait.js";

const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const contextManager = new AsyncLocalStorageContextManager().enable();
context.setGlobalContextManager(contextManager);
trace.setGlobalTracerProvider(tracerProvider);

let redis: RedisServer;
let server: TesseraServer;

before(async () => {
  redis = await startRedisServer();
  const { config } = await fixtureConfig({ issuerFromListener: true });
  server = await startCapturedServer({
    config: {
      ...config,
      metrics: { ...config.metrics, enabled: true, host: "127.0.0.1", port: 0 },
      redis: { url: redis.url, keyPrefix: "telemetry:", waitReplicas: 0, waitTimeoutMs: 500, commandTimeoutMs: 1000 },
    },
    kek: { id: "telemetry", key: randomBytes(32) },
  });
});

after(async () => {
  await server?.stop();
  await redis?.destroy();
  await tracerProvider.shutdown();
  trace.disable();
  context.disable();
});

async function post(path: string, form: Record<string, string>, authorization: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${server.httpUrl}${path}`, { method: "POST", headers: { authorization }, body: new URLSearchParams(form) });
  assert.equal(response.status, 200);
  return (await response.json()) as Record<string, unknown>;
}

test("Redis calls: a duration histogram by operation, and spans under the endpoint's span", async () => {
  const { access_token: token } = await post(
    "/oauth2/token",
    { grant_type: "client_credentials", resource: "https://calendar.example.com" },
    basicAuthorization("billing", SECRETS.basic),
  );
  const introspected = await post("/oauth2/introspect", { token: token as string }, basicAuthorization("calendar", SECRETS.other));
  assert.equal(introspected.active, true);

  const finished = spans.getFinishedSpans();
  const introspect = finished.find((s) => s.name === "tessera.introspect");
  assert.ok(introspect, `spans: ${finished.map((s) => s.name).join(", ")}`);
  const underIt = finished.filter((s) => s.parentSpanContext?.spanId === introspect.spanContext().spanId && s.name.startsWith("redis "));
  assert.ok(
    underIt.some((s) => s.name === "redis introspection_cache.lookup"),
    `redis spans under tessera.introspect: ${underIt.map((s) => s.name).join(", ")}`,
  );
  for (const span of underIt) {
    assert.equal(span.attributes["db.system"], "redis");
    assert.equal(span.spanContext().traceId, introspect.spanContext().traceId);
  }

  const text = await (await fetch(`http://${server.metricsAddress}/metrics`)).text();
  const count = text.match(/^tessera_redis_command_duration_seconds_count\{operation="introspection_cache.lookup",result="ok"\} (\d+)$/m);
  assert.ok(
    count !== null && Number(count[1]) >= 1,
    text
      .split("\n")
      .filter((l) => l.includes("redis_command"))
      .join("\n"),
  );
  // The replicas' configuration fingerprints, published at start, are Redis calls like the others.
  await until(async () => {
    const metrics = await (await fetch(`http://${server.metricsAddress}/metrics`)).text();
    return /^tessera_redis_command_duration_seconds_count\{operation="config.fingerprints",result="ok"\} [1-9]/m.test(metrics) ? true : undefined;
  }, "the fingerprint publication in the command histogram");
  // The health probe's PING keeps its own histogram.
  assert.match(text, /^# TYPE tessera_redis_ping_duration_seconds histogram$/m);
});
