import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { systemClock } from "../../src/internal/clock.js";
import type { TokenIssuedEvent } from "../../src/internal/service-events.js";
import { ServerMetrics } from "../../src/server/observability/server-metrics.js";
import { fixtureContext } from "../helpers/fixtures.js";

const { config } = await fixtureContext(systemClock);

function issued(clientId: string, audience: string, authMethod = "client_secret_basic"): TokenIssuedEvent {
  return { clientId, audience, scopes: [], jti: "j", kid: "k", grantType: "client_credentials", authMethod, source: undefined, expiresAt: 0 };
}

async function issuedLines(metrics: ServerMetrics): Promise<string[]> {
  const text = await metrics.registry.metrics();
  return text.split("\n").filter((line) => line.startsWith("tessera_tokens_issued_total{"));
}

describe("ServerMetrics: tokens issued", () => {
  it("counts every token by its labels, across scrapes, and bounds unregistered ids and audiences", async () => {
    const metrics = new ServerMetrics({ clients: config.clients, version: "test", clock: systemClock });
    const cal = "https://calendar.example.com";
    assert.deepEqual(await issuedLines(metrics), []);
    for (let i = 0; i < 3; i++) metrics.events.tokenIssued(issued("billing", cal));
    metrics.events.tokenIssued(issued("billing", cal, "private_key_jwt"));
    assert.deepEqual(await issuedLines(metrics), [
      `tessera_tokens_issued_total{client="billing",audience="${cal}",grant_type="client_credentials",auth_method="client_secret_basic"} 3`,
      `tessera_tokens_issued_total{client="billing",audience="${cal}",grant_type="client_credentials",auth_method="private_key_jwt"} 1`,
    ]);
    // A second scrape with nothing new reads the same; new tokens add to what was read.
    assert.equal(
      (await issuedLines(metrics))[0],
      `tessera_tokens_issued_total{client="billing",audience="${cal}",grant_type="client_credentials",auth_method="client_secret_basic"} 3`,
    );
    metrics.events.tokenIssued(issued("billing", cal));
    for (let i = 0; i < 50; i++) metrics.events.tokenIssued(issued(`added-later-${i}`, `https://other-${i}.example.com`));
    const lines = await issuedLines(metrics);
    assert.ok(
      lines.includes(`tessera_tokens_issued_total{client="billing",audience="${cal}",grant_type="client_credentials",auth_method="client_secret_basic"} 4`),
    );
    assert.ok(
      lines.includes('tessera_tokens_issued_total{client="(unknown)",audience="(other)",grant_type="client_credentials",auth_method="client_secret_basic"} 50'),
    );
    assert.equal(lines.length, 3);
  });
});
