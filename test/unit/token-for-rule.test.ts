// tokenForRule, the client interceptors' choice of token: a refusal by the
// token service (outside the grant) names what the method requires, as the
// resource server's insufficient_scope does; other failures pass unchanged.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { GrpcCode, InvalidScopeError, InvalidTargetError, TemporarilyUnavailableError, TesseraError } from "../../src/errors/tessera-error.js";
import { toGrpcStatus } from "../../src/errors/to-grpc.js";
import { authErrorDetail } from "../../src/interceptors/grpc/status-detail.js";
import { tokenForRule } from "../../src/token-source/token-for-rule.js";
import type { ResolvedAuthRule } from "../../src/policy/auth-rule.js";
import { TokenSource } from "../../src/token-source/token-source.js";

type BearerRule = Extract<ResolvedAuthRule, { kind: "bearer" }>;

const DELETE: BearerRule = {
  kind: "bearer",
  audience: "example.calendar.v1.CalendarService",
  allOf: ["event.delete"],
  anyOf: [["calendar.owner"], ["calendar.admin"]],
  source: "method",
};

function refusing(error: () => Error): { tokens: TokenSource; asked: string[][] } {
  const asked: string[][] = [];
  const tokens = new TokenSource({
    fetch: async ({ scopes }) => {
      asked.push([...scopes]);
      throw error();
    },
  });
  return { tokens, asked };
}

async function failure(tokens: TokenSource, rule: BearerRule): Promise<TesseraError> {
  try {
    await tokenForRule(tokens, rule);
  } catch (err) {
    assert.ok(err instanceof TesseraError);
    return err;
  }
  throw new Error("expected a refusal");
}

describe("tokenForRule", () => {
  test("invalid_scope for every alternative: PERMISSION_DENIED naming the method's scopes and audience", async () => {
    const { tokens, asked } = refusing(() => new InvalidScopeError("scope not granted for this resource: event.delete"));
    const err = await failure(tokens, DELETE);
    assert.deepEqual(
      asked.map((s) => s.sort().join(" ")),
      ["calendar.owner event.delete", "calendar.admin event.delete"],
      "each alternative tried",
    );
    assert.ok(err instanceof InvalidScopeError);
    assert.equal(err.grpcCode, GrpcCode.PERMISSION_DENIED);
    assert.equal(err.message, "scope not granted for this resource: event.delete");
    assert.deepEqual(err.requiredScopes, ["event.delete", "calendar.owner"]);
    assert.equal(err.requiredAudience, DELETE.audience);
    const detail = authErrorDetail(toGrpcStatus(err).metadata);
    assert.equal(detail?.error, "invalid_scope");
    assert.deepEqual(detail?.requiredScopes, ["event.delete", "calendar.owner"]);
  });

  test("invalid_target (audience not granted): the same, once", async () => {
    const { tokens, asked } = refusing(() => new InvalidTargetError("the client is not granted this resource"));
    const err = await failure(tokens, { ...DELETE, anyOf: [] });
    assert.equal(asked.length, 1);
    assert.ok(err instanceof InvalidTargetError);
    assert.equal(err.grpcCode, GrpcCode.PERMISSION_DENIED);
    assert.deepEqual(err.requiredScopes, ["event.delete"]);
    assert.equal(err.requiredAudience, DELETE.audience);
  });

  test("malformed requests and outages are not refusals: passed on unchanged", async () => {
    for (const make of [
      () => new InvalidScopeError("bad scope", { malformed: true }),
      () => new InvalidTargetError("relative", { malformed: true }),
      () => new TemporarilyUnavailableError("the token service cannot be reached"),
    ]) {
      const original = make();
      const { tokens } = refusing(() => original);
      const err = await failure(tokens, { ...DELETE, anyOf: [] });
      assert.equal(err, original);
      assert.deepEqual(err.requiredScopes, []);
    }
  });
});
