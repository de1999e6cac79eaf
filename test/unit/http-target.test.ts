// Which URLs may carry credentials or keys: the one rule behind the cleartext refusals of the
// JWKS fetcher, the token source, the interceptors and the configuration's trustedIssuers.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { validateConfig } from "../../src/config/validate.js";
import { checkedTransportUrl, isLoopbackHost } from "../../src/internal/http-target.js";

describe("loopback hosts and cleartext URLs", () => {
  test("loopback: localhost, 127.0.0.0/8 and ::1, bracketed or not, any case", () => {
    for (const host of ["localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1", "[::1]"]) assert.ok(isLoopbackHost(host), host);
  });

  test("not loopback: names under .localhost (the resolver decides), look-alikes, other addresses", () => {
    for (const host of ["api.localhost", "localhost.example", "127.0.0.1.example", "128.0.0.1", "0.0.0.0", "::", "[::ffff:127.0.0.1]", "10.0.0.1"]) {
      assert.equal(isLoopbackHost(host), false, host);
    }
  });

  test("http is refused off loopback unless allowInsecure; https always passes; user info never", () => {
    assert.equal(checkedTransportUrl("http://127.0.0.1:8080/jwks", "keys", false).port, "8080");
    assert.throws(() => checkedTransportUrl("http://api.localhost/jwks", "keys", false), /refusing keys over cleartext HTTP to http:\/\/api\.localhost\/jwks/);
    assert.equal(checkedTransportUrl("http://10.0.0.1/jwks", "keys", true).hostname, "10.0.0.1");
    assert.equal(checkedTransportUrl("https://keys.example/jwks", "keys", false).protocol, "https:");
    assert.throws(
      () => checkedTransportUrl("https://u:p@keys.example/jwks", "keys", false),
      (err: Error) => !err.message.includes("u:p"),
    );
  });

  test("the configuration's trustedIssuers follow the same rule", () => {
    const issuer = (jwksUri: string) => ({ trustedIssuers: [{ issuer: "https://idp.example", jwksUri, subjects: [{ subject: "s", clientId: "c" }] }] });
    const problems = (doc: unknown) => {
      try {
        validateConfig(doc, {}, () => "");
        return "";
      } catch (err) {
        return (err as Error).message;
      }
    };
    assert.doesNotMatch(problems(issuer("http://127.0.0.1:9000/jwks")), /trustedIssuers\[0\]\.jwksUri/);
    assert.match(problems(issuer("http://api.localhost/jwks")), /trustedIssuers\[0\]\.jwksUri/);
  });
});
