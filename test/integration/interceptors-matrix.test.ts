// The interceptors on both frameworks, with every client kind: Connect
// (HTTP/1.1 and HTTP/2), gRPC-Web and gRPC via connect-node against the
// Connect server; grpc-js against the Connect server; Connect gRPC and grpc-js
// against the grpc-js server. Rules come from calendar.proto's options.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { calendarClient, fails, type CalendarClientKind } from "../helpers/calendar-clients.js";
import { CALENDAR, FILES, meshTokens, rawToken, useCalendarMesh, type MeshClient } from "../helpers/mesh.js";

const UNAUTHENTICATED = 16;
const PERMISSION_DENIED = 7;

const mesh = useCalendarMesh();

const combos: { kind: CalendarClientKind; server: "connect" | "grpc-js" }[] = [
  { kind: "connect-1.1", server: "connect" },
  { kind: "connect-2", server: "connect" },
  { kind: "grpc-web", server: "connect" },
  { kind: "connect-grpc", server: "connect" },
  { kind: "grpc-js", server: "connect" },
  { kind: "connect-grpc", server: "grpc-js" },
  { kind: "grpc-js", server: "grpc-js" },
];

function target(kind: CalendarClientKind, server: "connect" | "grpc-js"): string {
  if (server === "connect") return kind === "grpc-js" ? mesh.calendars.connectUrl.replace("http://", "") : mesh.calendars.connectUrl;
  return kind === "grpc-js" ? mesh.calendars.grpcAddress : `http://${mesh.calendars.grpcAddress}`;
}

function withTokens(kind: CalendarClientKind, server: "connect" | "grpc-js", client: MeshClient) {
  const { tokens, fetches } = meshTokens(mesh.tessera.server, client);
  const api = calendarClient(kind, target(kind, server), { tokens });
  mesh.track(api);
  return { api, fetches };
}

function withHeader(kind: CalendarClientKind, server: "connect" | "grpc-js", authorization?: string) {
  const api = calendarClient(kind, target(kind, server), authorization ? { authorization } : {});
  mesh.track(api);
  return api;
}

for (const { kind, server } of combos) {
  describe(`${kind} client → ${server} server`, () => {
    test("a public method needs no token, and the client interceptor fetches none", async () => {
      const { api, fetches } = withTokens(kind, server, "tasks");
      assert.equal(await api.ping("hello"), "hello");
      assert.equal(fetches(), 0);
      assert.equal(await withHeader(kind, server).ping("bare"), "bare");
    });

    test("allowed: the token is attached, the caller reaches the handler", async () => {
      const { api, fetches } = withTokens(kind, server, "tasks");
      const event = await api.createEvent(`standup via ${kind}`);
      assert.equal(event.createdBy, "tasks");
      assert.ok((await api.listEvents()).some((e) => e.id === event.id));
      assert.equal(fetches(), 2, "one token per (audience, scopes): event.create and event.view");
    });

    test("no token → UNAUTHENTICATED with a Bearer challenge and no error code", async () => {
      const failure = await fails(withHeader(kind, server).listEvents());
      assert.equal(failure.code, UNAUTHENTICATED);
      assert.equal(failure.detail?.error, "invalid_token");
      assert.match(failure.challenge ?? "", /^Bearer realm="tessera"$/);
    });

    test('a bad token → UNAUTHENTICATED, error="invalid_token"', async () => {
      for (const authorization of [
        "Bearer not-a-jwt",
        "Bearer eyJhbGciOiJub25lIn0.e30.",
        "Basic dGFza3M6eA==",
        `Bearer ${(await rawToken(mesh.tessera.server, "tasks", CALENDAR)).slice(0, -4)}AAAA`,
      ]) {
        const failure = await fails(withHeader(kind, server, authorization).listEvents());
        assert.equal(failure.code, UNAUTHENTICATED, authorization.slice(0, 20));
        assert.match(failure.challenge ?? "", /error="invalid_token"/);
      }
    });

    test("a valid token for another audience → PERMISSION_DENIED", async () => {
      const token = await rawToken(mesh.tessera.server, "filer", FILES);
      const failure = await fails(withHeader(kind, server, `Bearer ${token}`).listEvents());
      assert.equal(failure.code, PERMISSION_DENIED);
      assert.equal(failure.detail?.error, "insufficient_scope");
      assert.equal(failure.detail?.requiredAudience, CALENDAR);
    });

    test("a valid token without the method's scopes → PERMISSION_DENIED naming them", async () => {
      const token = await rawToken(mesh.tessera.server, "tasks", CALENDAR, ["event.view"]);
      const failure = await fails(withHeader(kind, server, `Bearer ${token}`).createEvent("nope"));
      assert.equal(failure.code, PERMISSION_DENIED);
      assert.deepEqual(failure.detail?.requiredScopes, ["event.create"]);
      assert.match(failure.challenge ?? "", /error="insufficient_scope".*scope="event.create"/);
    });

    test("any_of: event.delete plus calendar.admin passes; event.delete alone does not", async () => {
      const event = await withTokens(kind, server, "tasks").api.createEvent("to delete");
      const token = await rawToken(mesh.tessera.server, "deleter", CALENDAR, ["event.delete"]);
      const failure = await fails(withHeader(kind, server, `Bearer ${token}`).deleteEvent(event.id));
      assert.equal(failure.code, PERMISSION_DENIED);
      assert.deepEqual(failure.detail?.requiredScopes, ["event.delete", "calendar.owner"]);
      // Through the client interceptor, no alternative is granted to deleter: the token service refuses.
      const refused = await fails(withTokens(kind, server, "deleter").api.deleteEvent(event.id));
      assert.equal(refused.code, PERMISSION_DENIED);
      assert.equal(refused.detail?.error, "invalid_scope");
      assert.deepEqual(refused.detail?.requiredScopes, ["event.delete", "calendar.owner"], "the same requirement as the server names");
      assert.equal(refused.detail?.requiredAudience, CALENDAR);
      // admin is granted the second alternative, which the interceptor finds.
      const admin = withTokens(kind, server, "admin");
      await admin.api.deleteEvent(event.id);
      assert.equal(admin.fetches(), 2, "calendar.owner refused, calendar.admin granted");
    });

    test("a stream is checked at its start", async () => {
      const failure = await fails(
        (async () => {
          for await (const _ of withHeader(kind, server).watch()) break;
        })(),
      );
      assert.equal(failure.code, UNAUTHENTICATED);
      const { api } = withTokens(kind, server, "tasks");
      await api.createEvent("stream me");
      for await (const event of api.watch()) {
        assert.ok(event.id);
        break;
      }
    });
  });
}
