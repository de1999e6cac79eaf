import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ClientConfig } from "../../src/config/types.js";
import { GrpcCode, InvalidRequestError, InvalidScopeError, InvalidTargetError, type TesseraError } from "../../src/errors/tessera-error.js";
import {
  authorizeTarget,
  checkTargetSyntax,
  parseScopeString,
  requestedAudience,
  requestedScopes,
  type TargetRequest,
} from "../../src/issuer/authorize-request.js";
import { StaticClientRegistry } from "../../src/registry/client-registry.js";
import { registeredClient, type RegisteredClient } from "../../src/registry/registered-client.js";
import { fixtureConfig } from "../helpers/fixtures.js";

const CAL = "https://calendar.example.com";
const FILES = "https://files.example.com";

function client(grants: ClientConfig["grants"], extra: Partial<ClientConfig> = {}): RegisteredClient {
  return registeredClient({
    id: "c1",
    authMethod: "client_secret_basic",
    secretHashes: [],
    grantTypes: ["client_credentials"],
    grants,
    audiences: [],
    introspection: false,
    ...extra,
  });
}

/** A client with two grants (calendar + files), like the fixture "billing" client. */
const two = client([
  { audience: CAL, scopes: ["event.view", "event.create"] },
  { audience: FILES, scopes: ["file.view"] },
]);
/** A client with one grant. */
const one = client([{ audience: CAL, scopes: ["event.view", "event.create"] }]);

interface Expected {
  cls: typeof InvalidRequestError | typeof InvalidScopeError | typeof InvalidTargetError;
  error: string;
  grpc: number;
  /** Text that the description must contain. */
  mentions?: string;
}

function refuses(c: RegisteredClient, request: TargetRequest, expected: Expected): TesseraError {
  let caught: unknown;
  try {
    const granted = authorizeTarget(c, request);
    assert.fail(`expected ${expected.error}, got ${JSON.stringify(granted)}`);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof expected.cls, `expected ${expected.cls.name}, got ${String(caught)}`);
  assert.equal(caught.error, expected.error);
  assert.equal(caught.status, 400);
  assert.equal(caught.grpcCode, expected.grpc);
  if (expected.mentions !== undefined) assert.ok(caught.message.includes(expected.mentions), caught.message);
  return caught;
}

const TARGET_MALFORMED: Expected = { cls: InvalidTargetError, error: "invalid_target", grpc: GrpcCode.INVALID_ARGUMENT };
const TARGET_DENIED: Expected = { cls: InvalidTargetError, error: "invalid_target", grpc: GrpcCode.PERMISSION_DENIED };
const SCOPE_MALFORMED: Expected = { cls: InvalidScopeError, error: "invalid_scope", grpc: GrpcCode.INVALID_ARGUMENT };
const SCOPE_DENIED: Expected = { cls: InvalidScopeError, error: "invalid_scope", grpc: GrpcCode.PERMISSION_DENIED };

describe("resource syntax (RFC 8707 §2)", () => {
  test("the answer for a resource does not change when it is asked again, or after many others", () => {
    const malformed = ["calendar", `${CAL}#frag`, "https://cal endar.example.com"];
    for (let round = 0; round < 3; round++) {
      assert.deepEqual(checkTargetSyntax({ resource: CAL }), { audience: CAL, scopes: [] });
      assert.deepEqual(checkTargetSyntax({ resource: `${CAL}/${"p".repeat(300)}` }).audience, `${CAL}/${"p".repeat(300)}`);
      for (const resource of malformed) assert.throws(() => checkTargetSyntax({ resource }), InvalidTargetError);
      for (let i = 0; i < 1500; i++) checkTargetSyntax({ resource: `https://r${i}.example.com` });
    }
  });

  for (const resource of ["calendar.example.com", "/calendar", "//calendar.example.com", "calendar", "../x", "https//calendar.example.com"]) {
    test(`a relative resource is malformed: ${JSON.stringify(resource)}`, () => {
      refuses(two, { resource }, TARGET_MALFORMED);
      assert.throws(() => checkTargetSyntax({ resource }), InvalidTargetError);
    });
  }

  for (const resource of [`${CAL}#frag`, `${CAL}#`, `${CAL}/path#x`]) {
    test(`a resource with a fragment is malformed, even when the rest is granted: ${resource}`, () => {
      refuses(two, { resource }, TARGET_MALFORMED);
    });
  }

  test("an audience alias with white space or control characters is malformed", () => {
    refuses(two, { audience: "calendar example" }, TARGET_MALFORMED);
    refuses(two, { audience: "calendar\n" }, TARGET_MALFORMED);
    refuses(two, { audience: "caléndar" }, TARGET_MALFORMED);
  });
});

describe("audience: exact match only", () => {
  test("the granted resource, sent as resource or as audience, is accepted", () => {
    assert.deepEqual(authorizeTarget(two, { resource: CAL, scopes: ["event.view"] }), { audience: CAL, scopes: ["event.view"] });
    assert.deepEqual(authorizeTarget(two, { audience: FILES, scopes: ["file.view"] }), { audience: FILES, scopes: ["file.view"] });
    assert.deepEqual(authorizeTarget(two, { resource: CAL, audience: CAL, scopes: ["event.view"] }), { audience: CAL, scopes: ["event.view"] });
  });

  const nearMisses = [
    `${CAL}/`, // trailing slash
    "https://Calendar.example.com", // different case (URL would fold it, we must not)
    "HTTPS://calendar.example.com",
    "https://calendar.example", // prefix of the granted one
    `${CAL}/v1`, // granted one is a prefix of it
    "https://calendar.example.com:443", // equivalent by URL rules, different string
    "https://calendar.example.com.evil.example",
    "http://calendar.example.com",
  ];
  for (const resource of nearMisses) {
    test(`a near miss is not granted: ${resource}`, () => {
      refuses(two, { resource, scopes: ["event.view"] }, TARGET_DENIED);
      refuses(two, { audience: resource, scopes: ["event.view"] }, TARGET_DENIED);
      refuses(two, { resource }, TARGET_DENIED);
    });
  }

  test("an audience alias that is not a URI matches a granted name exactly", async () => {
    const { config } = await fixtureConfig();
    const keyed = new StaticClientRegistry(config.clients).get("keyed")!;
    assert.deepEqual(authorizeTarget(keyed, { audience: "calendar", scopes: ["event.delete"] }), { audience: "calendar", scopes: ["event.delete"] });
    refuses(keyed, { audience: "Calendar" }, TARGET_DENIED);
    refuses(keyed, { audience: "calendar2" }, TARGET_DENIED);
    // As a resource it must be an absolute URI: "calendar" is relative.
    refuses(keyed, { resource: "calendar" }, TARGET_MALFORMED);
  });

  test("an absolute URI that is not a URL (URN) is a valid resource, matched exactly", () => {
    const urn = client([{ audience: "urn:example:calendar", scopes: ["event.view"] }]);
    assert.deepEqual(authorizeTarget(urn, { resource: "urn:example:calendar" }), { audience: "urn:example:calendar", scopes: ["event.view"] });
    refuses(urn, { resource: "urn:example:Calendar" }, TARGET_DENIED);
    refuses(urn, { resource: "urn:example:calendar#x" }, TARGET_MALFORMED);
  });

  test("resource and audience that name different targets → invalid_request", () => {
    refuses(two, { resource: CAL, audience: FILES }, { cls: InvalidRequestError, error: "invalid_request", grpc: GrpcCode.INVALID_ARGUMENT });
    refuses(two, { resource: CAL, audience: `${CAL}/` }, { cls: InvalidRequestError, error: "invalid_request", grpc: GrpcCode.INVALID_ARGUMENT });
    assert.throws(() => requestedAudience({ resource: CAL, audience: FILES }), InvalidRequestError);
  });

  test("a client with no grants gets nothing", () => {
    const none = client([]);
    refuses(none, {}, TARGET_DENIED);
    refuses(none, { resource: CAL }, TARGET_DENIED);
  });

  test("empty resource/audience parameters count as absent", () => {
    assert.equal(requestedAudience({ resource: "", audience: "" }), undefined);
    assert.deepEqual(authorizeTarget(one, { resource: "", scopes: ["event.view"] }), { audience: CAL, scopes: ["event.view"] });
  });
});

describe("scopes: inside the grant or refused, never dropped", () => {
  test("a scope outside the grant → invalid_scope naming it", () => {
    const err = refuses(two, { resource: CAL, scopes: ["event.delete"] }, { ...SCOPE_DENIED, mentions: "event.delete" });
    assert.ok(!err.message.includes("event.view"), "only the ungranted scope is named");
  });

  test("one granted + one not granted fails as a whole", () => {
    refuses(two, { resource: CAL, scopes: ["event.view", "event.delete"] }, { ...SCOPE_DENIED, mentions: "event.delete" });
    refuses(one, { scopes: ["event.view", "event.delete"] }, { ...SCOPE_DENIED, mentions: "event.delete" });
  });

  test("a scope granted for another audience of the same client is outside this grant", () => {
    refuses(two, { resource: CAL, scopes: ["file.view"] }, { ...SCOPE_DENIED, mentions: "file.view" });
    refuses(two, { resource: FILES, scopes: ["file.view", "event.view"] }, { ...SCOPE_DENIED, mentions: "event.view" });
  });

  test("scope matching is exact: no case folding, no prefix", () => {
    refuses(one, { scopes: ["Event.view"] }, { ...SCOPE_DENIED, mentions: "Event.view" });
    refuses(one, { scopes: ["event.vie"] }, SCOPE_DENIED);
    refuses(one, { scopes: ["event.viewer"] }, SCOPE_DENIED);
    refuses(one, { scopes: ["event"] }, SCOPE_DENIED);
    refuses(one, { scopes: ["event.*"] }, SCOPE_DENIED);
  });

  test("no scopes requested → every granted scope", () => {
    assert.deepEqual(authorizeTarget(two, { resource: CAL }), { audience: CAL, scopes: ["event.view", "event.create"] });
    assert.deepEqual(authorizeTarget(two, { resource: CAL, scopes: [] }), { audience: CAL, scopes: ["event.view", "event.create"] });
  });

  test("the granted scopes are exactly those requested (a subset is not widened)", () => {
    assert.deepEqual(authorizeTarget(two, { resource: CAL, scopes: ["event.create"] }).scopes, ["event.create"]);
  });

  test("duplicates are collapsed", () => {
    assert.deepEqual(authorizeTarget(one, { scopes: ["event.view", "event.view", "event.create", "event.view"] }).scopes, ["event.view", "event.create"]);
    assert.deepEqual(requestedScopes(["a", "b", "a"]), ["a", "b"]);
  });

  for (const bad of ['event"view', "event\\view", "", "event view", "event\tview", "événement", "\u0000"]) {
    test(`a malformed scope token is invalid_scope/INVALID_ARGUMENT: ${JSON.stringify(bad)}`, () => {
      refuses(one, { scopes: ["event.view", bad] }, SCOPE_MALFORMED);
      refuses(two, { resource: CAL, scopes: [bad] }, SCOPE_MALFORMED);
      assert.throws(() => checkTargetSyntax({ scopes: [bad] }), InvalidScopeError);
    });
  }

  test("the result cannot be widened afterwards", () => {
    const granted = authorizeTarget(one, {});
    assert.ok(Object.isFrozen(granted));
    assert.ok(Object.isFrozen(granted.scopes));
    // The registered client's grant is not shared with the result either.
    assert.throws(() => (granted.scopes as string[]).push("admin"));
    assert.deepEqual(authorizeTarget(one, {}).scopes, ["event.view", "event.create"]);
  });
});

describe("no resource: which audience?", () => {
  test("a single grant is the default audience", () => {
    assert.deepEqual(authorizeTarget(one, {}), { audience: CAL, scopes: ["event.view", "event.create"] });
    assert.deepEqual(authorizeTarget(one, { scopes: ["event.create"] }), { audience: CAL, scopes: ["event.create"] });
  });

  test("scopes of one audience pick that audience", () => {
    assert.deepEqual(authorizeTarget(two, { scopes: ["file.view"] }), { audience: FILES, scopes: ["file.view"] });
    assert.deepEqual(authorizeTarget(two, { scopes: ["event.create", "event.view"] }), { audience: CAL, scopes: ["event.create", "event.view"] });
  });

  test("scopes from two audiences → invalid_scope", () => {
    refuses(two, { scopes: ["event.view", "file.view"] }, SCOPE_DENIED);
  });

  test("a scope no grant holds → invalid_scope", () => {
    refuses(two, { scopes: ["admin"] }, SCOPE_DENIED);
  });

  test("several grants and no scopes → the resource is required", () => {
    const err = refuses(two, {}, TARGET_MALFORMED);
    assert.match(err.message, /resource/);
  });

  test("a scope granted for two audiences → the resource is required", () => {
    const shared = client([
      { audience: CAL, scopes: ["read"] },
      { audience: FILES, scopes: ["read"] },
    ]);
    refuses(shared, { scopes: ["read"] }, TARGET_MALFORMED);
    assert.deepEqual(authorizeTarget(shared, { resource: FILES, scopes: ["read"] }), { audience: FILES, scopes: ["read"] });
  });

  test("fixture clients: billing (two grants) and reporter (one grant)", async () => {
    const { config } = await fixtureConfig();
    const registry = new StaticClientRegistry(config.clients);
    const billing = registry.get("billing")!;
    const reporter = registry.get("reporter")!;
    assert.deepEqual(authorizeTarget(reporter, {}), { audience: CAL, scopes: ["event.view"] });
    refuses(reporter, { resource: FILES }, TARGET_DENIED);
    refuses(reporter, { scopes: ["event.create"] }, { ...SCOPE_DENIED, mentions: "event.create" });
    refuses(billing, { scopes: ["event.view", "file.view"] }, SCOPE_DENIED);
    assert.deepEqual(authorizeTarget(billing, { resource: FILES }), { audience: FILES, scopes: ["file.view"] });
  });
});

describe("parseScopeString (RFC 6749 §3.3)", () => {
  test("splits on single spaces", () => {
    assert.deepEqual(parseScopeString("a"), ["a"]);
    assert.deepEqual(parseScopeString("event.view event.create"), ["event.view", "event.create"]);
    assert.deepEqual(parseScopeString(""), []);
  });

  for (const bad of ["a  b", " a", "a ", " ", "a b  c"]) {
    test(`rejects empty scope tokens: ${JSON.stringify(bad)}`, () => {
      assert.throws(
        () => parseScopeString(bad),
        (err: unknown) => err instanceof InvalidScopeError && err.error === "invalid_scope" && err.grpcCode === GrpcCode.INVALID_ARGUMENT,
      );
    });
  }

  test("parsed tokens go through the grammar check before authorization", () => {
    assert.deepEqual(parseScopeString("a\tb"), ["a\tb"]);
    refuses(one, { scopes: parseScopeString("a\tb") }, SCOPE_MALFORMED);
  });
});

describe("fixture registry", () => {
  let registry: StaticClientRegistry;
  before(async () => {
    registry = new StaticClientRegistry((await fixtureConfig()).config.clients);
  });

  test("the client's configured resource-server audiences are not grants", () => {
    // "calendar" answers to https://calendar.example.com as a resource server but is granted only files.
    const calendar = registry.get("calendar")!;
    assert.ok(calendar.resourceAudiences.has(CAL));
    refuses(calendar, { resource: CAL }, TARGET_DENIED);
    assert.deepEqual(authorizeTarget(calendar, {}), { audience: FILES, scopes: ["file.view"] });
  });
});
