// RFC 8693 token exchange at the issuer: act chains, scope intersection,
// depth, lifetime, the may_act policy, and each refusal with its OAuth error;
// then the property that no chain ever escalates (100,000 random chains).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from "jose";
import type { ClientConfig } from "../../src/config/types.js";
import { validateConfig } from "../../src/config/validate.js";
import { TesseraError } from "../../src/errors/tessera-error.js";
import { CLIENT_ASSERTION_TYPE } from "../../src/issuer/client-authentication/authenticate-client.js";
import { parseBasicAuthorization } from "../../src/issuer/client-authentication/client-credentials-input.js";
import type { IssuerContext } from "../../src/issuer/issuer-context.js";
import { issueToken, type IssuedToken } from "../../src/issuer/issue-token.js";
import { localKeyResolver } from "../../src/issuer/own-key-resolver.js";
import { revokeToken } from "../../src/issuer/revoke-token.js";
import { authorizeExchange, TOKEN_TYPE_ACCESS_TOKEN } from "../../src/issuer/token-exchange.js";
import { StaticClientRegistry } from "../../src/registry/client-registry.js";
import { hashClientSecret } from "../../src/registry/client-secret.js";
import { registeredClient } from "../../src/registry/registered-client.js";
import type { AccessTokenClaims } from "../../src/verifier/access-token-claims.js";
import { principalOf } from "../../src/verifier/principal.js";
import { verifyAccessToken } from "../../src/verifier/verify-access-token.js";
import { basicAuthorization, fixtureContext } from "../helpers/fixtures.js";
import { FrozenClock } from "../helpers/frozen-clock.js";
import { prng } from "../helpers/prng.js";

const EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const SECRET = "exchange-secret-0123456789abcdef0123456789abcdef";
const clock = new FrozenClock();
const base = (await fixtureContext(clock)).ctx;
const actorKey = await generateKeyPair("ES256", { extractable: true });

const config = validateConfig(
  {
    issuer: base.issuer,
    clients: [
      {
        id: "frontend",
        authMethod: "client_secret_basic",
        secretHashes: [hashClientSecret(SECRET)],
        grants: [{ audience: "orders", scopes: ["orders.read", "ledger.read", "ledger.write", "audit.read"] }],
      },
      {
        id: "orders",
        authMethod: "client_secret_basic",
        secretHashes: [hashClientSecret(SECRET)],
        grantTypes: ["client_credentials", EXCHANGE],
        tokenExchange: { subjects: ["frontend"] },
        grants: [
          { audience: "ledger", scopes: ["ledger.read", "ledger.write", "ledger.admin"] },
          { audience: "mail", scopes: ["mail.send"] },
        ],
      },
      {
        id: "ledger",
        authMethod: "private_key_jwt",
        jwks: { keys: [{ ...(await exportJWK(actorKey.publicKey)), kid: "ledger-1", alg: "ES256" }] },
        grantTypes: [EXCHANGE],
        tokenExchange: { subjects: ["*"], audiences: ["audit"] },
        grants: [
          { audience: "audit", scopes: ["ledger.read", "audit.read", "audit.write"] },
          { audience: "archive", scopes: ["ledger.read"] },
        ],
      },
      {
        id: "audit",
        authMethod: "client_secret_basic",
        secretHashes: [hashClientSecret(SECRET)],
        grantTypes: [EXCHANGE],
        tokenExchange: { subjects: ["*"] },
        grants: [{ audience: "orders", scopes: ["ledger.read"] }],
      },
      {
        id: "picky",
        authMethod: "client_secret_basic",
        secretHashes: [hashClientSecret(SECRET)],
        audiences: ["orders"],
        grantTypes: [EXCHANGE],
        tokenExchange: { subjects: ["someone-else"] },
        grants: [{ audience: "ledger", scopes: ["ledger.read"] }],
      },
      {
        id: "plain",
        authMethod: "client_secret_basic",
        secretHashes: [hashClientSecret(SECRET)],
        audiences: ["orders"],
        grants: [{ audience: "ledger", scopes: ["ledger.read"] }],
      },
    ],
  },
  {},
  () => "",
);
const ctx: IssuerContext = { ...base, clients: new StaticClientRegistry(config.clients) };

const basic = (clientId: string) => ({ basic: parseBasicAuthorization(basicAuthorization(clientId, SECRET)) });

async function frontendToken(scopes = ["orders.read", "ledger.read", "ledger.write"]): Promise<IssuedToken> {
  return issueToken(ctx, { grantType: "client_credentials", credentials: basic("frontend"), audience: "orders", scopes });
}

function exchange(
  actor: string,
  subjectToken: string,
  request: { audience?: string; scopes?: string[] | undefined; extra?: Partial<Parameters<typeof issueToken>[1]> } = {},
  context: IssuerContext = ctx,
) {
  return issueToken(context, {
    grantType: EXCHANGE,
    credentials: basic(actor),
    subjectToken,
    subjectTokenType: TOKEN_TYPE_ACCESS_TOKEN,
    audience: request.audience,
    scopes: request.scopes,
    ...request.extra,
  });
}

async function ledgerAssertion(): Promise<string> {
  const now = clock.seconds();
  return new SignJWT({ iss: "ledger", sub: "ledger", aud: ctx.issuer, exp: now + 60, jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: "ES256", kid: "ledger-1" })
    .sign(actorKey.privateKey);
}

/** ledger (private_key_jwt) exchanges a token; `assertion` reuses one client assertion. */
async function exchangeAsLedger(subjectToken: string, audience: string, context: IssuerContext = ctx, assertion?: string) {
  return issueToken(context, {
    grantType: EXCHANGE,
    credentials: { clientAssertionType: CLIENT_ASSERTION_TYPE, clientAssertion: assertion ?? (await ledgerAssertion()) },
    subjectToken,
    subjectTokenType: TOKEN_TYPE_ACCESS_TOKEN,
    audience,
  });
}

async function verified(token: string): Promise<AccessTokenClaims> {
  return verifyAccessToken(token, localKeyResolver(ctx.keys), {
    issuer: ctx.issuer,
    algorithms: ["ES256"],
    clockToleranceSeconds: 0,
    maxLifetimeSeconds: 3600,
    clock,
  });
}

describe("token exchange (RFC 8693)", () => {
  test("B exchanges A's token for C: sub stays A, client_id and act name B, scopes are the intersection", async () => {
    const subject = await frontendToken();
    const issued = await exchange("orders", subject.accessToken, { audience: "ledger" });
    const claims = decodeJwt(issued.accessToken);
    assert.equal(claims.sub, "frontend");
    assert.equal(claims.client_id, "orders");
    assert.equal(claims.aud, "ledger");
    assert.deepEqual(claims.act, { sub: "orders" });
    // orders' grant for ledger has ledger.admin, the subject token does not: never more than both hold.
    assert.equal(claims.scope, "ledger.read ledger.write");
    assert.equal(issued.issuedTokenType, TOKEN_TYPE_ACCESS_TOKEN);
    assert.deepEqual(issued.delegation, { subject: "frontend", actors: ["orders"], subjectTokenId: subject.jti });
    assert.notEqual(issued.jti, subject.jti);
  });

  test("two hops nest act with the current actor outermost; the verifier's principal shows the chain", async () => {
    const first = await exchange("orders", (await frontendToken()).accessToken, { audience: "ledger" });
    const second = await exchangeAsLedger(first.accessToken, "audit");
    const claims = await verified(second.accessToken);
    assert.deepEqual(claims.raw.act, { sub: "ledger", act: { sub: "orders" } });
    assert.equal(claims.sub, "frontend");
    assert.deepEqual(claims.scopes, ["ledger.read"]);
    const principal = principalOf(claims);
    assert.deepEqual(principal.actors, ["ledger", "orders"]);
    assert.equal(principal.clientId, "ledger");
    assert.equal(principal.subject, "frontend");
  });

  test("requested scopes must be inside the subject token's scopes and the actor's grant", async () => {
    const subject = (await frontendToken()).accessToken;
    assert.equal((await exchange("orders", subject, { audience: "ledger", scopes: ["ledger.read"] })).scopes.join(" "), "ledger.read");
    await assert.rejects(exchange("orders", subject, { audience: "ledger", scopes: ["ledger.admin"] }), { error: "invalid_scope" });
    await assert.rejects(exchange("orders", subject, { audience: "ledger", scopes: ["orders.read"] }), { error: "invalid_scope" });
    // No scope in common between the grant for mail and the subject token.
    await assert.rejects(exchange("orders", subject, { audience: "mail" }), { error: "invalid_scope" });
  });

  test("the audience must be in the actor's grant and its exchange audiences", async () => {
    const first = await exchange("orders", (await frontendToken()).accessToken, { audience: "ledger" });
    await assert.rejects(exchange("orders", (await frontendToken()).accessToken, { audience: "audit" }), { error: "invalid_target" });
    // archive is in ledger's grant but not in its tokenExchange.audiences.
    await assert.rejects(exchangeAsLedger(first.accessToken, "archive"), { error: "invalid_target" });
  });

  test("the chain depth is capped by tokens.maxActorChainDepth", async () => {
    const shallow: IssuerContext = { ...ctx, tokens: { ...ctx.tokens, maxActorChainDepth: 2 } };
    const one = await exchange("orders", (await frontendToken(["ledger.read"])).accessToken, { audience: "ledger" }, shallow);
    const two = await exchangeAsLedger(one.accessToken, "audit", shallow);
    assert.deepEqual(decodeJwt(two.accessToken).act, { sub: "ledger", act: { sub: "orders" } });
    await assert.rejects(exchange("audit", two.accessToken, { audience: "orders" }, shallow), { error: "invalid_request", message: /exceed 2 actors/ });
    assert.ok(await exchange("audit", two.accessToken, { audience: "orders" }));
  });

  test("the exchanged token never outlives the subject token", async () => {
    const subject = await frontendToken();
    clock.advance(300 - 30);
    const issued = await exchange("orders", subject.accessToken, { audience: "ledger" });
    assert.equal(issued.expiresIn, 30);
    assert.equal(decodeJwt(issued.accessToken).exp, decodeJwt(subject.accessToken).exp);
    clock.advance(30);
    await assert.rejects(exchange("orders", subject.accessToken, { audience: "ledger" }), { error: "invalid_request" });
  });

  test("refusals: grant type, may_act policy, a token not issued to the actor, revoked, malformed parameters", async () => {
    const subject = await frontendToken();
    const token = subject.accessToken;
    await assert.rejects(exchange("plain", token, { audience: "ledger" }), { error: "unauthorized_client" });
    await assert.rejects(exchange("picky", token, { audience: "ledger" }), { error: "invalid_request", message: /may not act for/ });
    // ledger is not the subject token's audience: it did not receive this token.
    await assert.rejects(exchangeAsLedger(token, "audit"), { error: "invalid_request", message: /not issued to this client/ });
    await assert.rejects(exchange("orders", "garbage", { audience: "ledger" }), { error: "invalid_request" });
    await assert.rejects(exchange("orders", token, { audience: "ledger", extra: { subjectTokenType: "urn:ietf:params:oauth:token-type:jwt" } }), {
      error: "invalid_request",
    });
    await assert.rejects(exchange("orders", token, { audience: "ledger", extra: { subjectToken: undefined } }), { error: "invalid_request" });
    await assert.rejects(exchange("orders", token, { audience: "ledger", extra: { requestedTokenType: "urn:ietf:params:oauth:token-type:refresh_token" } }), {
      error: "invalid_request",
    });
    await assert.rejects(exchange("orders", token, { audience: "ledger", extra: { actorToken: token } }), { error: "invalid_request" });
    await assert.rejects(exchange("orders", token, { audience: "ledger", extra: { actorToken: token, actorTokenType: TOKEN_TYPE_ACCESS_TOKEN } }), {
      error: "invalid_request",
      message: /actor_token/,
    });
    await assert.rejects(issueToken(ctx, { grantType: "client_credentials", credentials: basic("orders"), subjectToken: token }), { error: "invalid_request" });
    await revokeToken(ctx, { credentials: basic("frontend"), token });
    await assert.rejects(exchange("orders", token, { audience: "ledger" }), { error: "invalid_request", message: /revoked/ });
  });

  test("an actor_token of the actor itself is accepted", async () => {
    const own = await issueToken(ctx, { grantType: "client_credentials", credentials: basic("orders"), audience: "ledger" });
    const issued = await exchange("orders", (await frontendToken()).accessToken, {
      audience: "ledger",
      extra: { actorToken: own.accessToken, actorTokenType: TOKEN_TYPE_ACCESS_TOKEN },
    });
    assert.deepEqual(decodeJwt(issued.accessToken).act, { sub: "orders" });
  });

  test("a refused exchange leaves the actor's client assertion unused; nothing is issued", async () => {
    const assertion = await ledgerAssertion();
    const subject = await exchange("orders", (await frontendToken()).accessToken, { audience: "ledger" });
    const request = (audience: string) => exchangeAsLedger(subject.accessToken, audience, ctx, assertion);
    await assert.rejects(request("archive"), { error: "invalid_target" });
    assert.ok(await request("audit"));
    await assert.rejects(request("audit"), { error: "invalid_client" });
  });

  test("an exchanged token has its own jti: the actor revokes it; revoking the subject token stops further exchanges", async () => {
    const subject = await frontendToken();
    const issued = await exchange("orders", subject.accessToken, { audience: "ledger" });
    await assert.rejects(revokeToken(ctx, { credentials: basic("frontend"), token: issued.accessToken }), { error: "unauthorized_client" });
    await revokeToken(ctx, { credentials: basic("orders"), token: issued.accessToken });
    assert.equal(await ctx.denyList.isRevoked(ctx.issuer, issued.jti), true);
    assert.equal(await ctx.denyList.isRevoked(ctx.issuer, subject.jti), false);
  });

  test("configuration: the token-exchange grant needs tokenExchange; its audiences must be granted", () => {
    const client = (extra: Record<string, unknown>) => ({
      id: "x",
      authMethod: "client_secret_basic",
      secretHashes: [hashClientSecret(SECRET)],
      grants: [{ audience: "a", scopes: [] }],
      ...extra,
    });
    assert.throws(() => validateConfig({ clients: [client({ grantTypes: [EXCHANGE] })] }, {}, () => ""), { field: "clients[0].tokenExchange" });
    assert.throws(() => validateConfig({ clients: [client({ tokenExchange: { subjects: ["*"] } })] }, {}, () => ""), { field: "clients[0].tokenExchange" });
    assert.throws(() => validateConfig({ clients: [client({ grantTypes: [EXCHANGE], tokenExchange: { subjects: ["*"], audiences: ["b"] } })] }, {}, () => ""), {
      field: "clients[0].tokenExchange.audiences[0]",
    });
  });
});

describe("token exchange: no chain escalates (property)", () => {
  test("100,000 random chains of 1–6 hops over random grants and scopes: no scope or audience some hop was not allowed, no lifetime extension", (t) => {
    const seed = Number(process.env.TESSERA_PROPERTY_SEED ?? 0x7e55e7a);
    const random = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const subset = <T>(items: readonly T[], p = 0.5): T[] => items.filter(() => random() < p);
    const IDS = ["c0", "c1", "c2", "c3", "c4", "c5"];
    const SCOPES = ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"];
    const maxDepth = 4;
    let exchanges = 0;
    let refusals = 0;
    let deepest = 0;
    for (let chain = 0; chain < 100_000; chain++) {
      const configs: ClientConfig[] = IDS.map((id) => ({
        id,
        authMethod: "client_secret_basic",
        grantTypes: random() < 0.9 ? ["client_credentials", EXCHANGE] : ["client_credentials"],
        grants: subset(IDS, 0.6).map((audience) => ({ audience, scopes: subset(SCOPES, 0.7) })),
        audiences: [],
        introspection: false,
        tokenLifetimeSeconds: undefined,
        tokenExchange: { subjects: random() < 0.7 ? ["*"] : [pick(["origin", "other"])], ...(random() < 0.3 ? { audiences: subset(IDS) } : {}) },
      }));
      const clients = new Map(configs.map((c) => [c.id, registeredClient(c)]));
      let current: AccessTokenClaims = {
        iss: "x",
        sub: "origin",
        aud: pick(IDS),
        exp: 1_000 + Math.floor(random() * 600),
        iat: 1_000,
        nbf: undefined,
        jti: "j",
        kid: "k",
        clientId: "origin",
        scopes: subset(SCOPES),
        actors: [],
        raw: {},
      };
      // What every hop so far was allowed: a later token may carry nothing outside any of these.
      const allowedScopes: Set<string>[] = [new Set(current.scopes)];
      const hops = 1 + Math.floor(random() * 6);
      for (let hop = 0; hop < hops; hop++) {
        // Mostly the client the token was issued to; sometimes another one, which must be refused.
        const actor = clients.get(random() < 0.85 ? current.aud : pick(IDS))!;
        // Mostly an audience the actor is granted (else the request stops at invalid_target), sometimes any.
        const granted = actor.grants.map((g) => g.audience);
        const audience = random() < 0.15 || granted.length === 0 ? pick(IDS) : pick(granted);
        const request = { audience: random() < 0.95 ? audience : undefined, scopes: random() < 0.4 ? subset(SCOPES, 0.3) : undefined };
        let decision: ReturnType<typeof authorizeExchange>;
        try {
          decision = authorizeExchange(actor, current, request, maxDepth);
        } catch (err) {
          assert.ok(err instanceof TesseraError, `seed ${seed}: not an OAuth error: ${String(err)}`);
          refusals++;
          break;
        }
        exchanges++;
        const { target, actors, notAfter } = decision;
        const grant = actor.grants.find((g) => g.audience === target.audience);
        assert.ok(grant, `seed ${seed} chain ${chain}: audience ${target.audience} outside ${actor.id}'s grant`);
        assert.ok(actor.resourceAudiences.has(current.aud), `seed ${seed} chain ${chain}: ${actor.id} exchanged a token it did not receive`);
        const policy = actor.tokenExchange!;
        assert.ok(policy.audiences === undefined || policy.audiences.has(target.audience), `seed ${seed}: exchange audience outside the policy`);
        assert.ok(policy.subjects.has("*") || policy.subjects.has(current.sub), `seed ${seed}: acted for a subject outside the policy`);
        assert.ok(target.scopes.length > 0, `seed ${seed}: an empty token`);
        for (const scope of target.scopes) {
          assert.ok(grant.scopes.includes(scope), `seed ${seed} chain ${chain}: ${scope} outside the actor's grant`);
          for (const allowed of allowedScopes) assert.ok(allowed.has(scope), `seed ${seed} chain ${chain}: ${scope} escalated`);
        }
        assert.ok(notAfter <= current.exp, `seed ${seed} chain ${chain}: lifetime extended`);
        assert.deepEqual(actors, [actor.id, ...current.actors]);
        assert.ok(actors.length <= maxDepth);
        deepest = Math.max(deepest, actors.length);
        allowedScopes.push(new Set(target.scopes));
        const exp = Math.min(notAfter, current.iat + Math.floor(random() * 900));
        current = { ...current, aud: target.audience, scopes: target.scopes, actors, clientId: actor.id, exp };
      }
    }
    // The chains exercised both sides of the rules, and the depth limit.
    t.diagnostic(`seed ${seed}: ${exchanges} exchanges, ${refusals} refusals, deepest chain ${deepest} actors`);
    assert.ok(exchanges > 30_000, `only ${exchanges} exchanges succeeded`);
    assert.ok(refusals > 10_000, `only ${refusals} refusals`);
    assert.equal(deepest, maxDepth);
  });
});

describe("token exchange: no chain escalates, through real tokens", () => {
  test("500 random chains of 1–6 hops through issueToken (signed, verified, clock moving): no escalation, no lifetime extension", async (t) => {
    const seed = Number(process.env.TESSERA_PROPERTY_SEED ?? 0x5eed);
    const random = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const subset = <T>(items: readonly T[], p = 0.6): T[] => items.filter(() => random() < p);
    const IDS = ["c0", "c1", "c2", "c3"];
    const SCOPES = ["s0", "s1", "s2", "s3", "s4", "s5"];
    const hash = hashClientSecret(SECRET);
    const chainClock = new FrozenClock();
    const { ctx: chainBase } = await fixtureContext(chainClock);
    let exchanges = 0;
    for (let chain = 0; chain < 500; chain++) {
      const configs: ClientConfig[] = IDS.map((id) => ({
        id,
        authMethod: "client_secret_basic",
        secretHashes: [hash],
        grantTypes: ["client_credentials", EXCHANGE],
        grants: subset(IDS).map((audience) => ({ audience, scopes: subset(SCOPES, 0.7) })),
        audiences: [],
        introspection: false,
        tokenLifetimeSeconds: 30 + Math.floor(random() * 600),
        tokenExchange: { subjects: ["*"] },
      }));
      const start = pick(IDS);
      const startScopes = subset(SCOPES);
      configs.push({
        id: "origin",
        authMethod: "client_secret_basic",
        secretHashes: [hash],
        grantTypes: ["client_credentials"],
        grants: [{ audience: start, scopes: SCOPES }],
        audiences: [],
        introspection: false,
        tokenLifetimeSeconds: 60 + Math.floor(random() * 600),
      });
      const chainCtx: IssuerContext = { ...chainBase, clients: new StaticClientRegistry(configs) };
      let token = (
        await issueToken(chainCtx, {
          grantType: "client_credentials",
          credentials: basic("origin"),
          audience: start,
          scopes: startScopes.length > 0 ? startScopes : SCOPES,
        })
      ).accessToken;
      let claims = decodeJwt(token);
      const allowed: Set<string>[] = [new Set(String(claims.scope).split(" "))];
      const hops = 1 + Math.floor(random() * 6);
      for (let hop = 0; hop < hops; hop++) {
        chainClock.advance(Math.floor(random() * 60));
        const actor = configs.find((c) => c.id === claims.aud)!;
        const granted = actor.grants.map((g) => g.audience);
        const audience = granted.length > 0 && random() < 0.9 ? pick(granted) : pick(IDS);
        let issued: IssuedToken;
        try {
          issued = await exchange(actor.id, token, { audience, scopes: random() < 0.5 ? subset(SCOPES, 0.3) : undefined }, chainCtx);
        } catch (err) {
          assert.ok(err instanceof TesseraError, `seed ${seed}: ${String(err)}`);
          break;
        }
        exchanges++;
        const next = decodeJwt(issued.accessToken);
        const grant = actor.grants.find((g) => g.audience === next.aud);
        assert.ok(grant, `seed ${seed} chain ${chain}: audience outside the actor's grant`);
        for (const scope of String(next.scope).split(" ")) {
          assert.ok(grant.scopes.includes(scope), `seed ${seed} chain ${chain}: ${scope} outside the grant`);
          for (const earlier of allowed) assert.ok(earlier.has(scope), `seed ${seed} chain ${chain}: ${scope} escalated`);
        }
        assert.ok(next.exp! <= claims.exp!, `seed ${seed} chain ${chain}: lifetime extended`);
        assert.equal(next.sub, "origin");
        assert.equal(next.client_id, actor.id);
        assert.deepEqual((next.act as { sub: string }).sub, actor.id);
        allowed.push(new Set(String(next.scope).split(" ")));
        token = issued.accessToken;
        claims = next;
      }
    }
    t.diagnostic(`seed ${seed}: ${exchanges} exchanges through real tokens`);
    assert.ok(exchanges > 300, `only ${exchanges} exchanges succeeded`);
  });
});
