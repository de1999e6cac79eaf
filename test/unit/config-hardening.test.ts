// The settings of issue 17 (token service side): per-client rates, the client-assertion lifetime
// cap, trusted proxies and their header. Defaults, bounds and the field named on a bad value.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "../../src/config/config-error.js";
import { validateConfig } from "../../src/config/validate.js";

const validate = (doc: Record<string, unknown>) => validateConfig(doc, {}, () => "");

function rejects(doc: Record<string, unknown>, field: string): void {
  assert.throws(
    () => validate(doc),
    (err: unknown) => err instanceof ConfigError && err.field === field,
    field,
  );
}

describe("hardening settings", () => {
  test("documented defaults", () => {
    const config = validate({});
    assert.deepEqual(config.rateLimit.perClient, { introspections: 60000, revocations: 600, windowSeconds: 60 });
    assert.equal(config.clientAssertions.maxLifetimeSeconds, 300);
    assert.deepEqual(config.trustedProxies, []);
    assert.equal(config.forwardedHeader, "x-forwarded-for");
  });

  test("values are read and bounded", () => {
    const config = validate({
      rateLimit: { perClient: { introspections: 0, revocations: 5, windowSeconds: 10 } },
      clientAssertions: { maxLifetimeSeconds: 60 },
      trustedProxies: ["10.0.0.0/8", "::1"],
      forwardedHeader: "forwarded",
    });
    assert.deepEqual(config.rateLimit.perClient, { introspections: 0, revocations: 5, windowSeconds: 10 });
    assert.equal(config.clientAssertions.maxLifetimeSeconds, 60);
    assert.deepEqual(config.trustedProxies, ["10.0.0.0/8", "::1"]);
    assert.equal(config.forwardedHeader, "forwarded");
    rejects({ rateLimit: { perClient: { revocations: -1 } } }, "rateLimit.perClient.revocations");
    rejects({ rateLimit: { perClient: { windowSeconds: 0 } } }, "rateLimit.perClient.windowSeconds");
    rejects({ rateLimit: { perClient: { bursts: 1 } } }, "rateLimit.perClient.bursts");
    rejects({ clientAssertions: { maxLifetimeSeconds: 7200 } }, "clientAssertions.maxLifetimeSeconds");
    rejects({ trustedProxies: ["10.0.0.0/8", "proxy.internal"] }, "trustedProxies[1]");
    rejects({ trustedProxies: "10.0.0.1" }, "trustedProxies");
    rejects({ forwardedHeader: "x-real-ip" }, "forwardedHeader");
  });
});
