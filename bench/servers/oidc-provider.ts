// The Node anchor: oidc-provider (v9) as a client_credentials token service
// with resource indicators (RFC 8707): JWT access tokens (ES256) for
// BENCH_AUDIENCE, opaque ones for BENCH_OPAQUE_AUDIENCE (oidc-provider cannot
// introspect its JWT access tokens, so introspection is measured on those).
// Default adapter (its in-memory store), production mode, own process.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { exportJWK, generateKeyPair } from "jose";
import Provider, { errors } from "oidc-provider";
import { BENCH_AUDIENCE, BENCH_CLIENT, BENCH_OPAQUE_AUDIENCE, BENCH_RS_CLIENT, BENCH_SCOPES } from "../lib/bench-clients.js";
import { announce, serveUntilTerminated } from "../lib/processes.js";

const { privateKey } = await generateKeyPair("ES256", { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: "bench-es256", alg: "ES256", use: "sig" };

let handle = (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(503);
  res.end();
};
const server = createServer((req, res) => handle(req, res));
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address() as { port: number };
const issuer = `http://127.0.0.1:${port}`;

const scope = BENCH_SCOPES.join(" ");
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: BENCH_CLIENT.id,
      client_secret: BENCH_CLIENT.secret,
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: "client_secret_basic",
      scope,
    },
    {
      client_id: BENCH_RS_CLIENT.id,
      client_secret: BENCH_RS_CLIENT.secret,
      grant_types: [],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  jwks: { keys: [jwk] },
  // The only key is ES256; JWT access tokens are signed with the client default alg unless the resource says otherwise.
  clientDefaults: { id_token_signed_response_alg: "ES256" },
  scopes: [...BENCH_SCOPES],
  cookies: { keys: ["bench-cookie-key-0123456789abcdef0123456789abcdef"] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => false,
      getResourceServerInfo: (_ctx: unknown, resourceIndicator: string) => {
        if (resourceIndicator === BENCH_AUDIENCE) {
          return { scope, audience: BENCH_AUDIENCE, accessTokenTTL: 300, accessTokenFormat: "jwt", jwt: { sign: { alg: "ES256" } } };
        }
        if (resourceIndicator === BENCH_OPAQUE_AUDIENCE) {
          return { scope, audience: BENCH_OPAQUE_AUDIENCE, accessTokenTTL: 300, accessTokenFormat: "opaque" };
        }
        throw new errors.InvalidTarget();
      },
    },
  },
});
provider.on("server_error", (_ctx, err) => process.stderr.write(`oidc-provider server_error: ${String(err)}\n`));
handle = provider.callback();

announce({ http: issuer, issuer, tokenEndpoint: `${issuer}/token`, introspectionEndpoint: `${issuer}/token/introspection` });
serveUntilTerminated(() => new Promise<void>((resolve) => server.close(() => resolve())));
