// Every access token we sign (ES256, EdDSA, RS256; signed synchronously by
// keys/jws.ts through the issuer's mintAccessToken) verifies with three
// verifiers that are not ours, given only the published JWKS: jose's
// jwtVerify, oauth4webapi's validateJwtAccessToken (RFC 9068) and PyJWT
// (Debian's python3-jwt, in a child process). A tampered copy of each token
// is refused by all three, so the harness cannot pass by accepting anything.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import * as oauth from "oauth4webapi";
import { systemClock } from "../../src/internal/clock.js";
import { mintAccessToken } from "../../src/issuer/mint-access-token.js";
import { MemoryKeyStore } from "../../src/keys/key-store.js";
import { generateSigningKey } from "../../src/keys/signing-key.js";
import { childEnv, killUnfinished, runToEnd } from "../helpers/child-process.js";
import { fixtureContext } from "../helpers/fixtures.js";

const PYTHON = "/usr/bin/python3";
const AUDIENCE = "https://calendar.example";
const work = mkdtempSync(join(tmpdir(), "tessera-interop-"));
after(() => {
  killUnfinished();
  rmSync(work, { recursive: true, force: true });
});

// Verifies each token with PyJWT against the JWKS by kid; prints one verdict per token.
const PYJWT = `
import json, sys, jwt
spec = json.load(open(sys.argv[1]))
keys = {k["kid"]: k for k in spec["jwks"]["keys"]}
out = []
for token in spec["tokens"]:
    try:
        header = jwt.get_unverified_header(token)
        if header.get("typ") != "at+jwt":
            raise ValueError("typ")
        jwk = keys[header["kid"]]
        claims = jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=[jwk["alg"]], audience=spec["audience"], issuer=spec["issuer"],
                            options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]})
        out.append({"ok": True, "sub": claims["sub"], "client_id": claims["client_id"], "scope": claims["scope"]})
    except Exception as e:
        out.append({"ok": False, "error": type(e).__name__})
print(json.dumps(out))
`;

function tampered(token: string): string {
  const [h, p, s] = token.split(".") as [string, string, string];
  const claims = JSON.parse(Buffer.from(p, "base64url").toString()) as Record<string, unknown>;
  return `${h}.${Buffer.from(JSON.stringify({ ...claims, scope: "admin" })).toString("base64url")}.${s}`;
}

test("tokens we sign verify with jose, oauth4webapi and PyJWT; tampered copies do not", { timeout: 60_000 }, async () => {
  const { ctx } = await fixtureContext(systemClock);
  const client = ctx.clients.get("billing")!;
  const tokens: string[] = [];
  const jwks: JSONWebKeySet = { keys: [] };
  for (const alg of ["ES256", "EdDSA", "RS256"] as const) {
    const key = await generateSigningKey(alg);
    jwks.keys.push({ ...key.publicJwk });
    const minted = mintAccessToken({ ...ctx, keys: MemoryKeyStore.single(key) }, client, { audience: AUDIENCE, scopes: ["event.view", "event.create"] });
    tokens.push(minted.accessToken);
  }
  const bad = tokens.map(tampered);

  // jose, with the profile's options.
  const joseKeys = createLocalJWKSet(jwks);
  for (const token of tokens) {
    const { payload, protectedHeader } = await jwtVerify(token, joseKeys, {
      issuer: ctx.issuer,
      audience: AUDIENCE,
      typ: "at+jwt",
      algorithms: ["ES256", "EdDSA", "RS256"],
      requiredClaims: ["exp", "iat", "jti", "sub"],
    });
    assert.equal(protectedHeader.typ, "at+jwt");
    assert.equal(payload.client_id, "billing");
  }
  for (const token of bad) await assert.rejects(jwtVerify(token, joseKeys, { issuer: ctx.issuer, audience: AUDIENCE }));

  // oauth4webapi: RFC 9068 validation of a resource server's request; the JWKS comes from its cache, no fetch.
  const validate = (token: string) => {
    const as: oauth.AuthorizationServer = { issuer: ctx.issuer, jwks_uri: `${ctx.issuer}/.well-known/jwks.json` };
    const request = new Request("https://calendar.example/events", { headers: { authorization: `Bearer ${token}` } });
    return oauth.validateJwtAccessToken(as, request, AUDIENCE, { [oauth.jwksCache]: { jwks, uat: Math.floor(Date.now() / 1000) } });
  };
  for (const token of tokens) {
    const claims = await validate(token);
    assert.equal(claims.client_id, "billing");
    assert.equal(claims.scope, "event.view event.create");
  }
  for (const token of bad) await assert.rejects(validate(token));

  // PyJWT.
  const specFile = join(work, "spec.json");
  writeFileSync(specFile, JSON.stringify({ jwks, issuer: ctx.issuer, audience: AUDIENCE, tokens: [...tokens, ...bad] }));
  const { code, stdout, stderr } = await runToEnd(PYTHON, ["-c", PYJWT, specFile], { env: childEnv({ PYTHONDONTWRITEBYTECODE: "1" }), timeoutMs: 30_000 });
  assert.equal(code, 0, stderr);
  const verdicts = JSON.parse(stdout) as { ok: boolean; sub?: string; client_id?: string; scope?: string; error?: string }[];
  assert.deepEqual(
    verdicts.slice(0, tokens.length),
    tokens.map(() => ({ ok: true, sub: "billing", client_id: "billing", scope: "event.view event.create" })),
  );
  assert.deepEqual(
    verdicts.slice(tokens.length).map((v) => v.ok),
    bad.map(() => false),
  );
});
