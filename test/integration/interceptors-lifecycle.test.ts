// The interceptors over time: single-flight token fetching, revocation
// (pushed to the verifier; cached client tokens dropped and replaced), long
// streams ended on revocation and expiry, key rotation without a failed call,
// a JWKS flood without a fetch storm, and a token service outage.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { generateKeyPair, SignJWT } from "jose";
import { jwksFromTokenService } from "../../src/connect.js";
import { httpJwksFetcher } from "../../src/keys/http-jwks-fetcher.js";
import { RemoteKeySet } from "../../src/keys/remote-key-set.js";
import { generateSigningKey } from "../../src/keys/signing-key.js";
import { remoteVerifier } from "../../src/remote/remote-verifier.js";
import type { Clock } from "../../src/internal/clock.js";
import { TokenVerifier } from "../../src/verifier/token-verifier.js";
import { calendarClient, fails, type CalendarClientKind } from "../helpers/calendar-clients.js";
import { CALENDAR, meshTokens, rawToken, startCalendars, startMeshTessera, useCalendarMesh, type MeshClient } from "../helpers/mesh.js";

const UNAUTHENTICATED = 16;
const UNAVAILABLE = 14;

/** Real time plus an offset the test moves forward (a verifier's view of time). */
class OffsetClock implements Clock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
}

const mesh = useCalendarMesh();

function client(kind: CalendarClientKind, server: "connect" | "grpc-js", who: MeshClient, servers = mesh.calendars) {
  const { tokens, fetches } = meshTokens(mesh.tessera.server, who);
  const target =
    server === "connect"
      ? kind === "grpc-js"
        ? servers.connectUrl.replace("http://", "")
        : servers.connectUrl
      : kind === "grpc-js"
        ? servers.grpcAddress
        : `http://${servers.grpcAddress}`;
  const api = calendarClient(kind, target, { tokens });
  mesh.track(api);
  return { api, tokens, fetches };
}

async function revoke(token: string, who: MeshClient): Promise<void> {
  const r = await fetch(`${mesh.tessera.server.httpUrl}/oauth2/revoke`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from(`${who}:${who}-secret-0123456789abcdef0123456789abcdef`).toString("base64")}`,
    },
    body: new URLSearchParams({ token }),
  });
  assert.equal(r.status, 200);
}

describe("client token source", () => {
  for (const kind of ["connect-2", "grpc-js"] as const) {
    test(`${kind}: 1000 concurrent cold calls cost exactly one token request`, async () => {
      const { api, fetches } = client(kind, "connect", "tasks");
      const results = await Promise.all(Array.from({ length: 1000 }, () => api.listEvents()));
      assert.equal(results.length, 1000);
      assert.equal(fetches(), 1);
    });
  }

  for (const [kind, server] of [
    ["connect-2", "connect"],
    ["grpc-js", "grpc-js"],
  ] as const) {
    test(`${kind} → ${server}: a revoked cached token is dropped and the call retried once with a new one`, async () => {
      const { api, tokens, fetches } = client(kind, server, "tasks");
      await api.listEvents();
      const cached = await tokens.get(CALENDAR, ["event.view"]);
      await revoke(cached, "tasks");
      await api.listEvents();
      assert.equal(fetches(), 2);
      assert.notEqual(await tokens.get(CALENDAR, ["event.view"]), cached);
    });
  }
});

describe("long streams", () => {
  for (const [kind, server] of [
    ["connect-2", "connect"],
    ["connect-grpc", "connect"],
    ["grpc-js", "grpc-js"],
  ] as const) {
    test(`${kind} → ${server}: a stream ends with UNAUTHENTICATED when its token is revoked`, async () => {
      const { api, tokens } = client(kind, server, "tasks");
      await api.createEvent("before revocation");
      const stream = api.watch()[Symbol.asyncIterator]();
      assert.ok((await stream.next()).value, "the stream delivers");
      await revoke(await tokens.get(CALENDAR, ["event.view"]), "tasks");
      const failure = await fails(
        (async () => {
          for (;;) if ((await stream.next()).done) return;
        })(),
      );
      assert.equal(failure.code, UNAUTHENTICATED);
      assert.match(failure.message, /revoked/);
    });
  }

  test("streams end with UNAUTHENTICATED when their token expires (2 s tokens), on both servers", async () => {
    await Promise.all(
      (
        [
          ["connect-2", "connect"],
          ["grpc-js", "grpc-js"],
        ] as const
      ).map(async ([kind, server]) => {
        const { api } = client(kind, server, "brief");
        const started = Date.now();
        const failure = await fails(
          (async () => {
            for await (const _ of api.watch()) void _;
          })(),
        );
        assert.equal(failure.code, UNAUTHENTICATED, kind);
        assert.match(failure.message, /expired/);
        assert.ok(Date.now() - started < 10_000);
      }),
    );
  });
});

describe("key rotation", () => {
  test("a key published ahead of signing: zero failed calls across the rotation; activated too early: refused", async () => {
    const clock = new OffsetClock();
    const rotating = remoteVerifier({ issuer: mesh.tessera.server.issuer, revocations: mesh.tessera.denyList, clock, jwksCooldownMs: 30_000 });
    await rotating.start();
    const servers = await startCalendars(rotating);
    try {
      let failures = 0;
      let calls = 0;
      const load = async (who: MeshClient, n: number) => {
        const { api } = client("connect-2", "connect", who, servers);
        await Promise.all(
          Array.from({ length: n }, () =>
            api.listEvents().then(
              () => calls++,
              () => failures++,
            ),
          ),
        );
      };
      await load("tasks", 50);
      const next = await generateSigningKey("ES256");
      mesh.tessera.keys.addNext(next);
      await load("tasks", 50);
      clock.offsetMs += 31_000; // the lead time: longer than the verifiers' JWKS cooldown
      mesh.tessera.keys.activate(next.kid);
      await Promise.all([load("tasks", 100), load("admin", 100)]);
      assert.equal(failures, 0);
      assert.equal(calls, 300);

      // Control: a key that signs before verifiers could see it is refused until their cooldown passes.
      const rushed = await generateSigningKey("ES256");
      mesh.tessera.keys.addNext(rushed);
      mesh.tessera.keys.activate(rushed.kid);
      const failure = await fails(client("connect-2", "connect", "deleter", servers).api.listEvents());
      assert.equal(failure.code, UNAUTHENTICATED);
      assert.match(failure.message, /unknown key/);
      mesh.tessera.keys.activate(next.kid);
    } finally {
      await servers.stop();
      rotating.stop();
    }
  });
});

describe("JWKS fetches", () => {
  test("a flood of unknown kids and expired tokens causes at most one fetch per cooldown", async () => {
    let fetches = 0;
    const jwks = httpJwksFetcher(`${mesh.tessera.server.httpUrl}/.well-known/jwks.json`);
    const counted = new TokenVerifier({
      issuer: mesh.tessera.server.issuer,
      keys: new RemoteKeySet({ fetch: () => (fetches++, jwks()), cooldownMs: 30_000 }),
    });
    const good = await rawToken(mesh.tessera.server, "tasks", CALENDAR);
    await counted.verify(good);
    assert.equal(fetches, 1);
    const attacker = await generateKeyPair("ES256");
    const now = Math.floor(Date.now() / 1000);
    const forged = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        new SignJWT({ client_id: "tasks", scope: "event.view" })
          .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: `random-${i}` })
          .setIssuer(mesh.tessera.server.issuer)
          .setSubject("tasks")
          .setAudience(CALENDAR)
          .setIssuedAt(now)
          .setExpirationTime(now + 60)
          .setJti(`j${i}`)
          .sign(attacker.privateKey),
      ),
    );
    const results = await Promise.allSettled(forged.map((t) => counted.verify(t)));
    assert.ok(results.every((r) => r.status === "rejected"));
    assert.ok(fetches <= 2, `at most one refetch, got ${fetches - 1}`);
    const before = fetches;
    const expired = await new SignJWT({ client_id: "tasks" })
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: "other" })
      .setIssuer(mesh.tessera.server.issuer)
      .setSubject("tasks")
      .setAudience(CALENDAR)
      .setIssuedAt(now - 900)
      .setExpirationTime(now - 600)
      .setJti("old")
      .sign(attacker.privateKey);
    await assert.rejects(counted.verify(expired), /expired/);
    assert.equal(fetches, before, "an expired token never causes a fetch");
  });
});

describe("keys over GetJwks", () => {
  test("a verifier can read the keys with TokenService/GetJwks over gRPC", async () => {
    const transport = createGrpcTransport({ baseUrl: `http://${mesh.tessera.server.grpcAddress}` });
    const overRpc = new TokenVerifier({ issuer: mesh.tessera.server.issuer, keys: new RemoteKeySet({ fetch: jwksFromTokenService(transport) }) });
    const claims = await overRpc.verify(await rawToken(mesh.tessera.server, "tasks", CALENDAR));
    assert.equal(claims.clientId, "tasks");
  });
});

describe("token service outage", () => {
  test("verifiers keep accepting cached tokens and clients keep using them; a new token is UNAVAILABLE", async () => {
    const own = await startMeshTessera();
    const local = remoteVerifier({ issuer: own.server.issuer, revocations: own.denyList });
    await local.start();
    const servers = await startCalendars(local);
    const api = calendarClient("connect-2", servers.connectUrl, { tokens: meshTokens(own.server, "tasks").tokens });
    const grpcApi = calendarClient("grpc-js", servers.grpcAddress, { tokens: meshTokens(own.server, "tasks").tokens });
    try {
      await api.listEvents();
      await grpcApi.listEvents();
      await own.server.stop();
      for (let i = 0; i < 20; i++) await Promise.all([api.listEvents(), grpcApi.listEvents()]);
      for (const client of [api, grpcApi]) {
        const failure = await fails(client.createEvent("needs a new token"));
        assert.equal(failure.code, UNAVAILABLE, client.name);
      }
    } finally {
      api.close();
      grpcApi.close();
      await servers.stop();
      local.stop();
    }
  });
});
