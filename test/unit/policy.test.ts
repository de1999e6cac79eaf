import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { DescService, FileRegistry } from "@bufbuild/protobuf";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { TokenService } from "../../gen/tessera/v1/token_service_pb.js";
import { describeRequiredScopes, leastPrivilegeScopes, scopesSatisfy, type ResolvedAuthRule } from "../../src/policy/auth-rule.js";
import { AuthRuleError, PUBLIC_SERVICES, authRulesOf, findAuthRule } from "../../src/policy/read-auth-rules.js";
import { buildFixtureRegistry } from "../helpers/proto-registry.js";

type BearerRule = Extract<ResolvedAuthRule, { kind: "bearer" }>;

let registry: FileRegistry;

before(() => {
  registry = buildFixtureRegistry(["example/v1/policy_fixture.proto"]);
});

function service(name: string): DescService {
  const s = registry.getService(`example.v1.${name}`);
  assert.ok(s, `service example.v1.${name} is in the descriptor set`);
  return s;
}

function method(serviceName: string, methodName: string) {
  const m = service(serviceName).methods.find((x) => x.name === methodName);
  assert.ok(m, `method ${serviceName}.${methodName}`);
  return m;
}

function bearer(rule: ResolvedAuthRule | undefined): BearerRule {
  assert.ok(rule, "a rule");
  assert.equal(rule.kind, "bearer");
  return rule as BearerRule;
}

function rule(allOf: string[], anyOf: string[][] = []): BearerRule {
  return { kind: "bearer", audience: "example.v1.X", allOf, anyOf, source: "method" };
}

/** Asserts that `fn` throws an AuthRuleError naming exactly `methods`. */
function throwsAuthRuleError(fn: () => unknown, methods: string[], problem?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AuthRuleError, `expected AuthRuleError, got ${String(err)}`);
    assert.equal(err.code, "ERR_AUTH_RULE");
    assert.deepEqual([...err.methods].sort(), [...methods].sort());
    for (const m of methods) assert.ok(err.message.includes(m), `message names ${m}: ${err.message}`);
    if (problem) assert.match(err.message, problem);
    return true;
  });
}

describe("rule resolution: method rules", () => {
  test("all-of scopes; the default audience is the service's full name", () => {
    const r = bearer(findAuthRule(method("RulesService", "ListEvents")));
    assert.deepEqual(r, { kind: "bearer", audience: "example.v1.RulesService", allOf: ["event.view"], anyOf: [], source: "method" });
  });

  test("a repeated scalar written one option line per value; duplicates collapse", () => {
    const r = bearer(findAuthRule(method("RulesService", "CreateEvent")));
    assert.deepEqual(r.allOf, ["event.view", "event.create"]);
    assert.deepEqual(r.anyOf, []);
  });

  test("any_of alternatives next to all-of scopes", () => {
    const r = bearer(findAuthRule(method("RulesService", "MoveEvent")));
    assert.deepEqual(r.allOf, ["event.view"]);
    assert.deepEqual(r.anyOf, [["event.edit", "event.move"], ["event.admin"]]);
  });

  test("any_of alone", () => {
    const r = bearer(findAuthRule(method("RulesService", "ExportEvents")));
    assert.deepEqual(r.allOf, []);
    assert.deepEqual(r.anyOf, [["event.export"], ["event.admin"]]);
  });

  test("public", () => {
    assert.deepEqual(findAuthRule(method("RulesService", "Ping")), { kind: "public", source: "method" });
  });

  test("client_authentication", () => {
    assert.deepEqual(findAuthRule(method("RulesService", "Audit")), { kind: "client_authentication", source: "method" });
  });

  test("a custom audience replaces the default", () => {
    const r = bearer(findAuthRule(method("RulesService", "SyncEvents")));
    assert.equal(r.audience, "https://calendar.example.com");
    assert.deepEqual(r.allOf, ["event.sync"]);
  });

  test("an empty rule still needs a bearer token for the service's audience", () => {
    const r = bearer(findAuthRule(method("RulesService", "WhoAmI")));
    assert.deepEqual(r, { kind: "bearer", audience: "example.v1.RulesService", allOf: [], anyOf: [], source: "method" });
  });

  test("authRulesOf lists every method of a fully declared service", () => {
    const rules = authRulesOf(service("RulesService"));
    assert.deepEqual([...rules.keys()].sort(), ["Audit", "CreateEvent", "ExportEvents", "ListEvents", "MoveEvent", "Ping", "SyncEvents", "WhoAmI"]);
    assert.equal(rules.get("Ping")!.kind, "public");
    assert.equal(rules.get("Audit")!.kind, "client_authentication");
    assert.equal(rules.get("ListEvents")!.kind, "bearer");
  });

  test("resolved rules are frozen and cached per method", () => {
    const m = method("RulesService", "MoveEvent");
    const r = bearer(findAuthRule(m));
    assert.equal(findAuthRule(m), r);
    assert.ok(Object.isFrozen(r));
    assert.ok(Object.isFrozen(r.allOf));
    assert.ok(Object.isFrozen(r.anyOf));
    assert.ok(Object.isFrozen(r.anyOf[0]));
  });
});

describe("rule resolution: service defaults", () => {
  test("a method without a rule gets the service default, with the service's audience", () => {
    for (const name of ["GetFile", "ListFiles"]) {
      assert.deepEqual(findAuthRule(method("DefaultsService", name)), {
        kind: "bearer",
        audience: "example.v1.DefaultsService",
        allOf: ["file.view"],
        anyOf: [],
        source: "service",
      });
    }
  });

  test("a method rule wins over the service default and is not merged with it", () => {
    const del = bearer(findAuthRule(method("DefaultsService", "DeleteFile")));
    assert.equal(del.source, "method");
    assert.deepEqual(del.allOf, ["file.delete"]);
    assert.equal(scopesSatisfy(del, ["file.delete"]), true, "file.view (the default) is not also required");
    assert.deepEqual(findAuthRule(method("DefaultsService", "Status")), { kind: "public", source: "method" });
  });

  test("a service default's custom audience applies to its methods", () => {
    const r = bearer(findAuthRule(method("AudienceDefaultService", "Read")));
    assert.equal(r.audience, "files");
    assert.equal(r.source, "service");
  });

  test("authRulesOf resolves the whole service", () => {
    const rules = authRulesOf(service("DefaultsService"));
    assert.equal(rules.size, 4);
    assert.equal(rules.get("GetFile")!.source, "service");
    assert.equal(rules.get("DeleteFile")!.source, "method");
    assert.equal(rules.get("Status")!.kind, "public");
  });
});

describe("rule resolution: allow-list and missing rules", () => {
  test("grpc.health.v1.Health is public by the allow-list", () => {
    assert.ok(PUBLIC_SERVICES.has("grpc.health.v1.Health"));
    const rules = authRulesOf(Health);
    assert.deepEqual([...rules.keys()].sort(), ["Check", "List", "Watch"]);
    for (const r of rules.values()) assert.deepEqual(r, { kind: "public", source: "allow-list" });
  });

  test("a service merely named Health in another package is not allow-listed", () => {
    assert.equal(findAuthRule(method("Health", "Check")), undefined);
    throwsAuthRuleError(() => authRulesOf(service("Health")), ["/example.v1.Health/Check"]);
  });

  test("a method without a rule is undefined for findAuthRule, never a default", () => {
    assert.equal(findAuthRule(method("IncompleteService", "DeleteTask")), undefined);
    assert.equal(findAuthRule(method("IncompleteService", "ArchiveTask")), undefined);
    assert.equal(bearer(findAuthRule(method("IncompleteService", "ListTasks"))).allOf[0], "task.view");
  });

  test("authRulesOf throws naming EVERY method without a rule, by its gRPC path", () => {
    throwsAuthRuleError(
      () => authRulesOf(service("IncompleteService")),
      ["/example.v1.IncompleteService/DeleteTask", "/example.v1.IncompleteService/ArchiveTask"],
      /no auth rule declared/,
    );
  });
});

describe("rule resolution: contradictory rules are startup errors", () => {
  const cases: [string, RegExp][] = [
    ["PublicWithScopes", /public or client_authentication/],
    ["PublicWithAnyOf", /public or client_authentication/],
    ["PublicWithAudience", /public or client_authentication/],
    ["PublicAndClientAuth", /both public and client_authentication/],
    ["ClientAuthWithScopes", /public or client_authentication/],
    ["EmptyAlternative", /any_of alternative is empty/],
    ["BadScopeToken", /scope token/],
    ["BadScopeInAlternative", /scope token/],
  ];
  for (const [name, problem] of cases) {
    test(`${name} throws, naming the method`, () => {
      const path = `/example.v1.ContradictoryService/${name}`;
      throwsAuthRuleError(() => findAuthRule(method("ContradictoryService", name)), [path], problem);
      // Not cached as anything usable: asking again throws again.
      throwsAuthRuleError(() => findAuthRule(method("ContradictoryService", name)), [path], problem);
    });
  }

  test("authRulesOf over the service throws", () => {
    assert.throws(() => authRulesOf(service("ContradictoryService")), AuthRuleError);
  });

  test("a contradictory service default throws for the method that inherits it", () => {
    throwsAuthRuleError(() => authRulesOf(service("ContradictoryDefaultService")), ["/example.v1.ContradictoryDefaultService/Inherits"]);
  });
});

describe("tessera.v1.TokenService (generated descriptors)", () => {
  test("IssueToken and GetJwks are public; Introspect, Revoke and the watch streams authenticate the client", () => {
    const rules = authRulesOf(TokenService);
    assert.deepEqual(Object.fromEntries([...rules].map(([name, r]) => [name, r.kind])), {
      IssueToken: "public",
      GetJwks: "public",
      Introspect: "client_authentication",
      Revoke: "client_authentication",
      WatchRevocations: "client_authentication",
      WatchKeys: "client_authentication",
    });
    for (const r of rules.values()) assert.equal(r.source, "method");
  });
});

describe("scopesSatisfy", () => {
  test("all-of: every scope is needed", () => {
    const r = rule(["event.view", "event.create"]);
    assert.equal(scopesSatisfy(r, ["event.view", "event.create"]), true);
    assert.equal(scopesSatisfy(r, ["event.create", "file.view", "event.view"]), true);
    assert.equal(scopesSatisfy(r, ["event.view"]), false);
    assert.equal(scopesSatisfy(r, ["event.create"]), false);
    assert.equal(scopesSatisfy(r, []), false);
  });

  test("any-of: every scope of at least one alternative, plus all-of", () => {
    const r = rule(["event.view"], [["event.edit", "event.move"], ["event.admin"]]);
    assert.equal(scopesSatisfy(r, ["event.view", "event.edit", "event.move"]), true);
    assert.equal(scopesSatisfy(r, ["event.view", "event.admin"]), true);
    assert.equal(scopesSatisfy(r, ["event.view", "event.edit"]), false, "half an alternative is not enough");
    assert.equal(scopesSatisfy(r, ["event.view"]), false, "no alternative");
    assert.equal(scopesSatisfy(r, ["event.admin"]), false, "all-of is still required");
    assert.equal(scopesSatisfy(r, ["event.edit", "event.move", "event.admin"]), false);
  });

  test("any-of alone", () => {
    const r = rule([], [["a"], ["b"]]);
    assert.equal(scopesSatisfy(r, ["b"]), true);
    assert.equal(scopesSatisfy(r, ["c"]), false);
    assert.equal(scopesSatisfy(r, []), false);
  });

  test("no scopes required: any token of the audience will do", () => {
    assert.equal(scopesSatisfy(rule([]), []), true);
  });

  test("exact string match: no prefix, no case folding, no splitting", () => {
    assert.equal(scopesSatisfy(rule(["event.viewer"]), ["event.view"]), false);
    assert.equal(scopesSatisfy(rule(["Event.view"]), ["event.view"]), false);
    assert.equal(scopesSatisfy(rule(["event.view"]), ["event.viewer"]), false);
    assert.equal(scopesSatisfy(rule(["event.view"]), ["Event.view"]), false);
    assert.equal(scopesSatisfy(rule(["event.view"]), ["event.view "]), false);
    assert.equal(scopesSatisfy(rule(["event.view"]), ["event.*"]), false);
    assert.equal(scopesSatisfy(rule(["event.view"]), ["event.view event.create"]), false, "a scope claim must be split first");
    assert.equal(scopesSatisfy(rule([], [["event.view"]]), ["event.viewer"]), false);
  });

  test("a Set and an array give the same answers", () => {
    const r = rule(["a"], [["b", "c"], ["d"]]);
    for (const granted of [["a"], ["a", "b"], ["a", "b", "c"], ["a", "d"], ["d"], ["A", "D"]]) {
      assert.equal(scopesSatisfy(r, new Set(granted)), scopesSatisfy(r, granted), granted.join(" "));
    }
    assert.equal(scopesSatisfy(r, new Set(["a", "d"])), true);
    assert.equal(scopesSatisfy(r, new Set(["a", "b"])), false);
  });

  test("the rules read from the fixture protos behave as declared", () => {
    const move = bearer(findAuthRule(method("RulesService", "MoveEvent")));
    assert.equal(scopesSatisfy(move, ["event.view", "event.admin"]), true);
    assert.equal(scopesSatisfy(move, ["event.view", "event.edit"]), false);
    const create = bearer(findAuthRule(method("RulesService", "CreateEvent")));
    assert.equal(scopesSatisfy(create, ["event.view"]), false);
    assert.equal(scopesSatisfy(create, ["event.create", "event.view"]), true);
  });
});

describe("leastPrivilegeScopes", () => {
  test("all-of plus the first alternative, nothing more, no duplicates", () => {
    assert.deepEqual(leastPrivilegeScopes(rule(["event.view"], [["event.edit", "event.move"], ["event.admin"]])), ["event.view", "event.edit", "event.move"]);
    assert.deepEqual(leastPrivilegeScopes(rule(["a", "b"])), ["a", "b"]);
    assert.deepEqual(leastPrivilegeScopes(rule([], [["x"], ["y"]])), ["x"]);
    assert.deepEqual(leastPrivilegeScopes(rule(["a"], [["a", "b"]])), ["a", "b"]);
    assert.deepEqual(leastPrivilegeScopes(rule([])), []);
  });

  test("the least-privilege scopes always satisfy their rule", () => {
    for (const name of ["ListEvents", "CreateEvent", "MoveEvent", "ExportEvents", "SyncEvents", "WhoAmI"]) {
      const r = bearer(findAuthRule(method("RulesService", name)));
      assert.equal(scopesSatisfy(r, leastPrivilegeScopes(r)), true, name);
    }
  });

  test("from the fixture protos", () => {
    assert.deepEqual(leastPrivilegeScopes(bearer(findAuthRule(method("RulesService", "MoveEvent")))), ["event.view", "event.edit", "event.move"]);
    assert.deepEqual(leastPrivilegeScopes(bearer(findAuthRule(method("RulesService", "ExportEvents")))), ["event.export"]);
    assert.deepEqual(describeRequiredScopes(bearer(findAuthRule(method("DefaultsService", "GetFile")))), ["file.view"]);
  });
});
