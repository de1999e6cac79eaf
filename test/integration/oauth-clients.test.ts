// The OAuth HTTP endpoints, driven by client libraries nobody here wrote:
// openid-client and oauth4webapi (discovery, four client authentication
// methods, introspection, revocation), tokens checked with oauth4webapi's
// RFC 9068 validator and jose's remote JWKS.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createRemoteJWKSet, jwtVerify } from "jose";
import * as oauth from "oauth4webapi";
import * as client from "openid-client";
import type { TesseraServer } from "../../src/server/tessera-server.js";
import { startCapturedServer } from "../helpers/start-server.js";
import { fixtureConfig, SECRETS, type ClientKeyPair } from "../helpers/fixtures.js";

let server: TesseraServer;
let keyPair: ClientKeyPair;
let issuerUrl: URL;

before(async () => {
  const fixture = await fixtureConfig({ issuerFromListener: true });
  keyPair = fixture.keyPair;
  server = await startCapturedServer({ config: fixture.config });
  issuerUrl = new URL(server.issuer);
});
after(() => server.stop());

async function discover(clientId: string, auth: client.ClientAuth): Promise<client.Configuration> {
  return client.discovery(issuerUrl, clientId, undefined, auth, { algorithm: "oauth2", execute: [client.allowInsecureRequests] });
}

/** Validates an access token as a resource server would, with oauth4webapi's RFC 9068 validator. */
async function validateAsResourceServer(token: string, audience: string): Promise<oauth.JWTAccessTokenClaims> {
  const as = await oauth.processDiscoveryResponse(
    issuerUrl,
    await oauth.discoveryRequest(issuerUrl, { algorithm: "oauth2", [oauth.allowInsecureRequests]: true }),
  );
  const request = new Request("http://resource.example/api", { headers: { authorization: `Bearer ${token}` } });
  return oauth.validateJwtAccessToken(as, request, audience, { [oauth.allowInsecureRequests]: true });
}

describe("openid-client", () => {
  const cases: { name: string; clientId: string; auth: () => client.ClientAuth; resource: string; scope: string }[] = [
    {
      name: "client_secret_basic",
      clientId: "billing",
      auth: () => client.ClientSecretBasic(SECRETS.basic),
      resource: "https://calendar.example.com",
      scope: "event.view",
    },
    {
      name: "client_secret_post",
      clientId: "reporter",
      auth: () => client.ClientSecretPost(SECRETS.post),
      resource: "https://calendar.example.com",
      scope: "event.view",
    },
    {
      name: "client_secret_jwt",
      clientId: "signer",
      auth: () => client.ClientSecretJwt(SECRETS.jwt),
      resource: "https://calendar.example.com",
      scope: "event.view",
    },
    {
      name: "private_key_jwt",
      clientId: "keyed",
      auth: () => client.PrivateKeyJwt({ key: keyPair.privateKey, kid: keyPair.publicJwk.kid! }),
      resource: "calendar",
      scope: "event.view",
    },
  ];
  for (const c of cases) {
    test(`client_credentials with ${c.name}; the token passes oauth4webapi's RFC 9068 validator and jose's remote JWKS`, async () => {
      const config = await discover(c.clientId, c.auth());
      assert.equal(config.serverMetadata().issuer, server.issuer);
      const param = c.resource.includes(":") ? "resource" : "audience";
      const tokens = await client.clientCredentialsGrant(config, { scope: c.scope, [param]: c.resource });
      assert.equal(tokens.token_type.toLowerCase(), "bearer");
      assert.equal(tokens.scope, c.scope);
      assert.ok(tokens.expires_in! > 0 && tokens.expires_in! <= 300);
      assert.equal(tokens.refresh_token, undefined);

      const claims = await validateAsResourceServer(tokens.access_token, c.resource);
      assert.equal(claims.client_id, c.clientId);
      assert.equal(claims.sub, c.clientId);
      assert.equal(claims.scope, c.scope);

      const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
      const { protectedHeader } = await jwtVerify(tokens.access_token, jwks, { issuer: server.issuer, audience: c.resource, typ: "at+jwt" });
      assert.equal(protectedHeader.alg, "ES256");
    });
  }

  test("introspection and revocation by the resource server and the owner", async () => {
    const owner = await discover("billing", client.ClientSecretBasic(SECRETS.basic));
    const resourceServer = await discover("calendar", client.ClientSecretBasic(SECRETS.other));
    const { access_token } = await client.clientCredentialsGrant(owner, { scope: "event.view event.create", resource: "https://calendar.example.com" });

    const active = await client.tokenIntrospection(resourceServer, access_token);
    assert.equal(active.active, true);
    assert.equal(active.client_id, "billing");
    assert.equal(active.scope, "event.view event.create");
    assert.equal(active.aud, "https://calendar.example.com");
    assert.equal(active.token_type, "Bearer");

    await client.tokenRevocation(owner, access_token);
    assert.deepEqual({ ...(await client.tokenIntrospection(resourceServer, access_token)) }, { active: false });
  });

  test("a scope outside the grant is an invalid_scope error, not a narrower token", async () => {
    const config = await discover("billing", client.ClientSecretBasic(SECRETS.basic));
    await assert.rejects(
      client.clientCredentialsGrant(config, { scope: "event.view event.delete", resource: "https://calendar.example.com" }),
      (err: unknown) => {
        assert.ok(err instanceof client.ResponseBodyError);
        assert.equal(err.error, "invalid_scope");
        assert.equal(err.status, 400);
        return true;
      },
    );
  });

  test("a wrong secret is invalid_client with a Basic challenge", async () => {
    const config = await discover("billing", client.ClientSecretBasic("wrong"));
    await assert.rejects(client.clientCredentialsGrant(config, { resource: "https://calendar.example.com" }), (err: unknown) => {
      assert.ok(err instanceof client.ResponseBodyError || err instanceof client.WWWAuthenticateChallengeError, String(err));
      assert.equal((err as { status?: number }).status, 401);
      return true;
    });
  });
});

describe("oauth4webapi", () => {
  test("discovery, client_credentials with private_key_jwt, introspection and revocation", async () => {
    const as = await oauth.processDiscoveryResponse(
      issuerUrl,
      await oauth.discoveryRequest(issuerUrl, { algorithm: "oauth2", [oauth.allowInsecureRequests]: true }),
    );
    assert.deepEqual(as.grant_types_supported, ["client_credentials"]);
    assert.ok(as.token_endpoint_auth_methods_supported?.includes("private_key_jwt"));
    const insecure = { [oauth.allowInsecureRequests]: true };

    const keyed: oauth.Client = { client_id: "keyed" };
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      keyed,
      oauth.PrivateKeyJwt({ key: keyPair.privateKey, kid: keyPair.publicJwk.kid! }),
      { scope: "event.view event.delete", audience: "calendar" },
      insecure,
    );
    const tokens = await oauth.processClientCredentialsResponse(as, keyed, response);
    assert.equal(tokens.scope, "event.view event.delete");
    const claims = await validateAsResourceServer(tokens.access_token, "calendar");
    assert.equal(claims.aud, "calendar");

    const calendar: oauth.Client = { client_id: "calendar" };
    const introspected = await oauth.processIntrospectionResponse(
      as,
      calendar,
      await oauth.introspectionRequest(as, calendar, oauth.ClientSecretBasic(SECRETS.other), tokens.access_token, insecure),
    );
    // The client id "calendar" is an audience too: the calendar service introspects tokens issued for it.
    assert.equal(introspected.active, true);
    assert.equal(introspected.client_id, "keyed");

    const revoked = await oauth.revocationRequest(
      as,
      keyed,
      oauth.PrivateKeyJwt({ key: keyPair.privateKey, kid: keyPair.publicJwk.kid! }),
      tokens.access_token,
      insecure,
    );
    assert.equal(await oauth.processRevocationResponse(revoked), undefined);
    const after = await oauth.processIntrospectionResponse(
      as,
      calendar,
      await oauth.introspectionRequest(as, calendar, oauth.ClientSecretBasic(SECRETS.other), tokens.access_token, insecure),
    );
    assert.deepEqual({ ...after }, { active: false });
  });
});
