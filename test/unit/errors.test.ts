import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { fromBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Metadata } from "@grpc/grpc-js";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";
import { AuthErrorDetailSchema, type AuthErrorDetail } from "../../gen/tessera/v1/token_service_pb.js";
import * as errorModule from "../../src/errors/tessera-error.js";
import {
  GrpcCode,
  InsufficientScopeError,
  InvalidClientError,
  InvalidGrantError,
  InvalidRequestError,
  InvalidScopeError,
  InvalidTargetError,
  InvalidTokenError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  ServerError,
  TemporarilyUnavailableError,
  TesseraError,
  UnauthorizedClientError,
  UnsupportedGrantTypeError,
  asTesseraError,
} from "../../src/errors/tessera-error.js";
import { toHttpError, wwwAuthenticate } from "../../src/errors/to-http.js";
import { toGrpcStatus } from "../../src/errors/to-grpc.js";
import { toConnectError } from "../../src/errors/to-connect.js";

/** One row of the STANDARDS "Error model" table, as each error class must map it. */
interface Row {
  name: string;
  make: () => TesseraError;
  code: string;
  status: number;
  error: string;
  grpc: number;
  /** Expected WWW-Authenticate header, exactly; undefined = no header. */
  challenge?: string;
  retryAfter?: string;
  scope?: string;
}

const ROWS: Row[] = [
  {
    name: "InvalidRequestError",
    make: () => new InvalidRequestError("client_id is repeated"),
    code: "ERR_INVALID_REQUEST",
    status: 400,
    error: "invalid_request",
    grpc: 3,
  },
  { name: "InvalidClientError", make: () => new InvalidClientError(), code: "ERR_INVALID_CLIENT", status: 401, error: "invalid_client", grpc: 16 },
  {
    name: "InvalidClientError (basicChallenge)",
    make: () => new InvalidClientError({ basicChallenge: true }),
    code: "ERR_INVALID_CLIENT",
    status: 401,
    error: "invalid_client",
    grpc: 16,
    challenge: 'Basic realm="tessera", charset="UTF-8"',
  },
  {
    name: "InvalidGrantError",
    make: () => new InvalidGrantError("assertion expired"),
    code: "ERR_INVALID_GRANT",
    status: 400,
    error: "invalid_grant",
    grpc: 3,
  },
  {
    name: "UnauthorizedClientError",
    make: () => new UnauthorizedClientError("grant type not allowed"),
    code: "ERR_UNAUTHORIZED_CLIENT",
    status: 400,
    error: "unauthorized_client",
    grpc: 7,
  },
  {
    name: "UnsupportedGrantTypeError",
    make: () => new UnsupportedGrantTypeError("password"),
    code: "ERR_UNSUPPORTED_GRANT_TYPE",
    status: 400,
    error: "unsupported_grant_type",
    grpc: 3,
  },
  {
    name: "InvalidScopeError (not granted)",
    make: () => new InvalidScopeError("scope not granted: a"),
    code: "ERR_INVALID_SCOPE",
    status: 400,
    error: "invalid_scope",
    grpc: 7,
  },
  {
    name: "InvalidScopeError (malformed)",
    make: () => new InvalidScopeError("bad scope", { malformed: true }),
    code: "ERR_INVALID_SCOPE",
    status: 400,
    error: "invalid_scope",
    grpc: 3,
  },
  {
    name: "InvalidTargetError (not granted)",
    make: () => new InvalidTargetError("not granted"),
    code: "ERR_INVALID_TARGET",
    status: 400,
    error: "invalid_target",
    grpc: 7,
  },
  {
    name: "InvalidTargetError (malformed)",
    make: () => new InvalidTargetError("relative", { malformed: true }),
    code: "ERR_INVALID_TARGET",
    status: 400,
    error: "invalid_target",
    grpc: 3,
  },
  {
    name: "InvalidTokenError (token sent)",
    make: () => new InvalidTokenError("token expired"),
    code: "ERR_INVALID_TOKEN",
    status: 401,
    error: "invalid_token",
    grpc: 16,
    challenge: 'Bearer realm="tessera", error="invalid_token", error_description="token expired"',
  },
  {
    name: "InvalidTokenError (no token)",
    make: () => new InvalidTokenError("no bearer token", { tokenSent: false }),
    code: "ERR_INVALID_TOKEN",
    status: 401,
    error: "invalid_token",
    grpc: 16,
    challenge: 'Bearer realm="tessera"',
  },
  {
    name: "InsufficientScopeError",
    make: () => new InsufficientScopeError("token lacks scope", { scopes: ["event.view", "event.create"], audience: "example.v1.Calendar" }),
    code: "ERR_INSUFFICIENT_SCOPE",
    status: 403,
    error: "insufficient_scope",
    grpc: 7,
    challenge: 'Bearer realm="tessera", error="insufficient_scope", error_description="token lacks scope", scope="event.view event.create"',
    scope: "event.view event.create",
  },
  { name: "NotFoundError", make: () => new NotFoundError("unknown service"), code: "ERR_NOT_FOUND", status: 404, error: "invalid_request", grpc: 5 },
  {
    name: "PayloadTooLargeError",
    make: () => new PayloadTooLargeError(65536),
    code: "ERR_PAYLOAD_TOO_LARGE",
    status: 413,
    error: "invalid_request",
    grpc: 8,
  },
  { name: "RateLimitedError", make: () => new RateLimitedError(30), code: "ERR_RATE_LIMITED", status: 429, error: "slow_down", grpc: 8, retryAfter: "30" },
  {
    name: "TemporarilyUnavailableError",
    make: () => new TemporarilyUnavailableError("store unavailable", 7),
    code: "ERR_TEMPORARILY_UNAVAILABLE",
    status: 503,
    error: "temporarily_unavailable",
    grpc: 14,
    retryAfter: "7",
  },
  {
    name: "TemporarilyUnavailableError (default retry)",
    make: () => new TemporarilyUnavailableError("store unavailable"),
    code: "ERR_TEMPORARILY_UNAVAILABLE",
    status: 503,
    error: "temporarily_unavailable",
    grpc: 14,
    retryAfter: "1",
  },
  { name: "ServerError", make: () => new ServerError(), code: "ERR_SERVER_ERROR", status: 500, error: "server_error", grpc: 13 },
];

function grpcDetail(metadata: Metadata): { code: number; message: string; detail: AuthErrorDetail } {
  const values = metadata.get("grpc-status-details-bin");
  assert.equal(values.length, 1, "exactly one grpc-status-details-bin value");
  const raw = values[0];
  assert.ok(Buffer.isBuffer(raw), "grpc-status-details-bin is binary");
  const status = fromBinary(StatusSchema, new Uint8Array(raw));
  assert.equal(status.details.length, 1, "one detail in google.rpc.Status");
  const detail = anyUnpack(status.details[0]!, AuthErrorDetailSchema);
  assert.ok(detail !== undefined, "the detail is a tessera.v1.AuthErrorDetail");
  return { code: status.code, message: status.message, detail };
}

function metadataValue(metadata: Metadata, key: string): string | undefined {
  const values = metadata.get(key);
  assert.ok(values.length <= 1, `${key} at most once`);
  return values.length === 0 ? undefined : String(values[0]);
}

describe("error model: every class", () => {
  test("the table covers every exported TesseraError subclass", () => {
    const classes = Object.entries(errorModule)
      .filter(([, v]) => typeof v === "function" && v.prototype instanceof TesseraError)
      .map(([name]) => name)
      .sort();
    const covered = [...new Set(ROWS.map((r) => r.name.split(" ")[0]!))].sort();
    assert.deepEqual(classes, covered);
  });

  test("GrpcCode numbers are the gRPC protocol's", () => {
    assert.equal(GrpcCode.INVALID_ARGUMENT, Code.InvalidArgument);
    assert.equal(GrpcCode.PERMISSION_DENIED, Code.PermissionDenied);
    assert.equal(GrpcCode.RESOURCE_EXHAUSTED, Code.ResourceExhausted);
    assert.equal(GrpcCode.INTERNAL, Code.Internal);
    assert.equal(GrpcCode.UNAVAILABLE, Code.Unavailable);
    assert.equal(GrpcCode.UNAUTHENTICATED, Code.Unauthenticated);
  });

  for (const row of ROWS) {
    describe(row.name, () => {
      test("fields: code, OAuth error, status, gRPC code, name", () => {
        const err = row.make();
        assert.ok(err instanceof TesseraError);
        assert.ok(err instanceof Error);
        assert.equal(err.name, row.name.split(" ")[0]);
        assert.equal(err.code, row.code);
        assert.equal(err.error, row.error);
        assert.equal(err.status, row.status);
        assert.equal(err.grpcCode, row.grpc);
        assert.equal(asTesseraError(err), err, "a Tessera error is reported as it is");
      });

      test("toHttpError: status, body, WWW-Authenticate, Retry-After, no-store", () => {
        const err = row.make();
        const res = toHttpError(err);
        assert.equal(res.status, row.status);
        assert.equal(res.body.error, row.error);
        assert.equal(res.body.error_description, err.message);
        assert.equal(res.body.scope, row.scope);
        assert.equal(res.headers["cache-control"], "no-store");
        assert.equal(res.headers.pragma, "no-cache");
        assert.match(res.headers["content-type"]!, /^application\/json/);
        assert.equal(res.headers["www-authenticate"], row.challenge);
        assert.equal(res.headers["retry-after"], row.retryAfter);
        assert.equal(wwwAuthenticate(err), row.challenge);
        // The body is RFC 6749 §5.2 JSON: nothing but error, error_description, scope.
        for (const key of Object.keys(res.body)) assert.ok(["error", "error_description", "scope"].includes(key), key);
      });

      test("toGrpcStatus: code, details trailer, challenge and retry metadata", () => {
        const err = row.make();
        const st = toGrpcStatus(err);
        assert.equal(st.code, row.grpc);
        assert.equal(st.details, err.message);
        const { code, message, detail } = grpcDetail(st.metadata);
        assert.equal(code, row.grpc);
        assert.equal(message, err.message);
        assert.equal(detail.error, row.error);
        assert.equal(detail.errorDescription, err.message);
        assert.deepEqual(detail.requiredScopes, row.scope === undefined ? [] : row.scope.split(" "));
        assert.equal(metadataValue(st.metadata, "www-authenticate"), row.challenge);
        assert.equal(metadataValue(st.metadata, "retry-after"), row.retryAfter);
      });

      test("toConnectError: code, AuthErrorDetail, challenge and retry metadata", () => {
        const err = row.make();
        const ce = toConnectError(err);
        assert.ok(ce instanceof ConnectError);
        assert.equal(ce.code as number, row.grpc);
        assert.equal(ce.rawMessage, err.message);
        const details = ce.findDetails(AuthErrorDetailSchema);
        assert.equal(details.length, 1);
        assert.equal(details[0]!.error, row.error);
        assert.equal(details[0]!.errorDescription, err.message);
        assert.deepEqual(details[0]!.requiredScopes, row.scope === undefined ? [] : row.scope.split(" "));
        assert.equal(ce.metadata.get("www-authenticate") ?? undefined, row.challenge);
        assert.equal(ce.metadata.get("retry-after") ?? undefined, row.retryAfter);
      });
    });
  }
});

describe("error model: specific rules", () => {
  test("invalid_client has one description whatever the reason, with or without the Basic challenge", () => {
    const a = new InvalidClientError();
    const b = new InvalidClientError({ basicChallenge: true });
    assert.equal(a.message, b.message);
    assert.equal(toHttpError(a).body.error_description, toHttpError(b).body.error_description);
    assert.equal(toHttpError(a).headers["www-authenticate"], undefined, "no Basic challenge when Basic was not used");
    assert.match(toHttpError(b).headers["www-authenticate"]!, /^Basic realm="tessera"/);
  });

  test("no token: the Bearer challenge carries no error attributes (RFC 6750 §3.1)", () => {
    const header = toHttpError(new InvalidTokenError("no token", { tokenSent: false })).headers["www-authenticate"]!;
    assert.match(header, /^Bearer /);
    assert.doesNotMatch(header, /error=/);
    assert.doesNotMatch(header, /error_description=/);
    const sent = toHttpError(new InvalidTokenError("bad signature", { tokenSent: true })).headers["www-authenticate"]!;
    assert.match(sent, /^Bearer .*error="invalid_token"/);
    assert.match(sent, /error_description="bad signature"/);
  });

  test("a bad token is 401 with a challenge, never 403; lacking scope is 403 with the scopes", () => {
    assert.equal(toHttpError(new InvalidTokenError("expired")).status, 401);
    const res = toHttpError(new InsufficientScopeError("needs file.view", { scopes: ["file.view"] }));
    assert.equal(res.status, 403);
    assert.equal(res.body.scope, "file.view");
    assert.match(res.headers["www-authenticate"]!, /^Bearer .*error="insufficient_scope".*scope="file\.view"/);
  });

  test("insufficient_scope carries the required audience in gRPC and Connect details", () => {
    const err = new InsufficientScopeError("wrong audience", { scopes: ["a.b"], audience: "example.v1.Files" });
    assert.equal(grpcDetail(toGrpcStatus(err).metadata).detail.requiredAudience, "example.v1.Files");
    assert.equal(toConnectError(err).findDetails(AuthErrorDetailSchema)[0]!.requiredAudience, "example.v1.Files");
    const noAud = new InsufficientScopeError("lacks scope", { scopes: ["a.b"] });
    assert.equal(grpcDetail(toGrpcStatus(noAud).metadata).detail.requiredAudience, "");
  });

  test("quotes and backslashes in a challenge value are escaped so the header stays well formed", () => {
    const header = wwwAuthenticate(new InvalidTokenError('bad "kid" \\ here'))!;
    assert.equal(header, 'Bearer realm="tessera", error="invalid_token", error_description="bad \\"kid\\" \\\\ here"');
  });

  test("the error detail of a malformed scope is INVALID_ARGUMENT, of an ungranted one PERMISSION_DENIED, on both surfaces", () => {
    assert.equal(toGrpcStatus(new InvalidScopeError("x", { malformed: true })).code, 3);
    assert.equal(toGrpcStatus(new InvalidScopeError("x")).code, 7);
    assert.equal(toConnectError(new InvalidTargetError("x", { malformed: true })).code, Code.InvalidArgument);
    assert.equal(toConnectError(new InvalidTargetError("x")).code, Code.PermissionDenied);
  });

  test("a dependency failure is UNAVAILABLE/503, never an authentication or token answer", () => {
    const err = new TemporarilyUnavailableError("redis is down");
    const http = toHttpError(err);
    assert.equal(http.status, 503);
    assert.notEqual(http.body.error, "invalid_client");
    assert.notEqual(http.body.error, "invalid_token");
    assert.equal(http.headers["www-authenticate"], undefined);
    assert.equal(toGrpcStatus(err).code, GrpcCode.UNAVAILABLE);
    assert.equal(toConnectError(err).code, Code.Unavailable);
  });
});

describe("error model: foreign errors never leak", () => {
  const SECRET = "secret-xyz leaked";
  const thrownValues: [string, unknown][] = [
    ["Error", new Error(SECRET)],
    ["TypeError", new TypeError(SECRET)],
    ["string", SECRET],
    ["object", { message: SECRET, status: 400, error: "invalid_client" }],
    ["undefined", undefined],
  ];

  for (const [kind, thrown] of thrownValues) {
    test(`toHttpError(${kind}) → 500 server_error without the original message`, () => {
      const res = toHttpError(thrown);
      assert.equal(res.status, 500);
      assert.equal(res.body.error, "server_error");
      assert.equal(res.headers["cache-control"], "no-store");
      assert.equal(res.headers["www-authenticate"], undefined);
      const serialized = JSON.stringify(res);
      assert.ok(!serialized.includes("secret-xyz"), serialized);
      assert.doesNotMatch(serialized, /\bat .*:\d+:\d+/, "no stack trace");
    });

    test(`toGrpcStatus(${kind}) → INTERNAL without the original message`, () => {
      const st = toGrpcStatus(thrown);
      assert.equal(st.code, GrpcCode.INTERNAL);
      assert.ok(!st.details.includes("secret-xyz"));
      const { code, message, detail } = grpcDetail(st.metadata);
      assert.equal(code, GrpcCode.INTERNAL);
      assert.ok(!message.includes("secret-xyz"));
      assert.equal(detail.error, "server_error");
      assert.ok(!detail.errorDescription.includes("secret-xyz"));
    });

    test(`toConnectError(${kind}) → Internal without the original message`, () => {
      const ce = toConnectError(thrown);
      assert.equal(ce.code, Code.Internal);
      assert.ok(!ce.message.includes("secret-xyz"));
      assert.equal(ce.cause, undefined, "the original error is not attached");
      const [detail] = ce.findDetails(AuthErrorDetailSchema);
      assert.equal(detail?.error, "server_error");
      assert.ok(!detail.errorDescription.includes("secret-xyz"));
    });
  }

  test("asTesseraError maps anything foreign to a generic ServerError", () => {
    const err = asTesseraError(new Error(SECRET));
    assert.ok(err instanceof ServerError);
    assert.ok(!err.message.includes("secret-xyz"));
  });

  test("toHttpError always sets cache-control: no-store", () => {
    for (const row of ROWS) assert.equal(toHttpError(row.make()).headers["cache-control"], "no-store", row.name);
  });
});
