// The floor: the least a token service can do over HTTP, written with
// node:http and a signer only, to tell what Tessera's own code costs.
//   POST /token       Basic auth (constant-time compare on SHA-256 digests),
//                     resource and scope read from the form, an ES256 token
//                     with the RFC 9068 claims, JSON response. Signed with
//                     jose's SignJWT (WebCrypto, asynchronous), or with
//                     BENCH_FLOOR_SIGN=sync by node:crypto's sign on a
//                     KeyObject (synchronous), as Tessera signs.
//   POST /introspect  Basic auth as above, then one Redis GET (key: SHA-256 of
//                     the token; the bench seeds the values), JSON as stored.
// No validation beyond that, no store on issuance, no throttling.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Redis } from "ioredis";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { BENCH_AUDIENCE, BENCH_SCOPES, floorBasicClient, floorIntrospectionKey } from "../lib/bench-clients.js";
import { announce, serveUntilTerminated } from "../lib/processes.js";
import { syncEs256Signer } from "../lib/sync-signer.js";

/** The client id when the Basic credentials are right, else undefined. */
function authenticate(req: IncomingMessage): string | undefined {
  return floorBasicClient(req.headers.authorization);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "application/json;charset=UTF-8", "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
  res.end(body);
}

const { privateKey, publicKey } = await generateKeyPair("ES256");
const kid = "floor-es256";
const syncSigner = process.env.BENCH_FLOOR_SIGN === "sync" ? syncEs256Signer(kid) : undefined;
const jwks = syncSigner?.jwks ?? JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" }] });
const redisUrl = process.env.BENCH_REDIS_URL;
const redis = redisUrl === undefined ? undefined : new Redis(redisUrl, { maxRetriesPerRequest: 1 });
const allowedScopes = new Set<string>(BENCH_SCOPES);

let issuer = "";
const server = createServer((req, res) => {
  void (async () => {
    try {
      if (req.method === "GET" && req.url === "/jwks") return send(res, 200, jwks);
      if (req.method === "GET" && req.url === "/healthz") return send(res, 200, '{"status":"ok"}');
      if (req.method !== "POST") return send(res, 405, '{"error":"invalid_request"}');
      const params = new URLSearchParams(await readBody(req));
      const client = authenticate(req);
      if (client === undefined) return send(res, 401, '{"error":"invalid_client"}');
      if (req.url === "/token") {
        const scope = params.get("scope") ?? "";
        if (params.get("grant_type") !== "client_credentials") return send(res, 400, '{"error":"unsupported_grant_type"}');
        if (params.get("resource") !== BENCH_AUDIENCE) return send(res, 400, '{"error":"invalid_target"}');
        if (!scope.split(" ").every((s) => allowedScopes.has(s))) return send(res, 400, '{"error":"invalid_scope"}');
        const now = Math.floor(Date.now() / 1000);
        const jti = randomBytes(16).toString("base64url");
        const token = syncSigner
          ? syncSigner.sign({ client_id: client, scope, iss: issuer, sub: client, aud: BENCH_AUDIENCE, iat: now, nbf: now, exp: now + 300, jti })
          : await new SignJWT({ client_id: client, scope })
              .setProtectedHeader({ alg: "ES256", kid, typ: "at+jwt" })
              .setIssuer(issuer)
              .setSubject(client)
              .setAudience(BENCH_AUDIENCE)
              .setIssuedAt(now)
              .setNotBefore(now)
              .setExpirationTime(now + 300)
              .setJti(jti)
              .sign(privateKey);
        return send(res, 200, JSON.stringify({ access_token: token, token_type: "Bearer", expires_in: 300, scope }));
      }
      if (req.url === "/introspect" && redis !== undefined) {
        const token = params.get("token") ?? "";
        return send(res, 200, (await redis.get(floorIntrospectionKey(token))) ?? '{"active":false}');
      }
      return send(res, 404, '{"error":"not_found"}');
    } catch (err) {
      process.stderr.write(`floor: ${String(err)}\n`);
      if (!res.headersSent) send(res, 500, '{"error":"server_error"}');
    }
  })();
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
announce({ http: issuer, issuer, tokenEndpoint: `${issuer}/token`, introspectionEndpoint: `${issuer}/introspect` });
serveUntilTerminated(async () => {
  redis?.disconnect();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
