// The floor: the least a token service can do over HTTP, written with jose
// and node:http only, to tell what Tessera's own code costs.
//   POST /token       Basic auth (constant-time compare on SHA-256 digests),
//                     resource and scope read from the form, jose SignJWT
//                     ES256 with the RFC 9068 claims, JSON response.
//   POST /introspect  Basic auth as above, then one Redis GET (key: SHA-256 of
//                     the token; the bench seeds the values), JSON as stored.
// No validation beyond that, no store on issuance, no throttling.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Redis } from "ioredis";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { BENCH_AUDIENCE, BENCH_CLIENT, BENCH_RS_CLIENT, BENCH_SCOPES, floorIntrospectionKey, secretDigest } from "../lib/bench-clients.js";
import { announce, serveUntilTerminated } from "../lib/processes.js";

const digests = new Map<string, Buffer>([
  [BENCH_CLIENT.id, secretDigest(BENCH_CLIENT.secret)],
  [BENCH_RS_CLIENT.id, secretDigest(BENCH_RS_CLIENT.secret)],
]);
const UNKNOWN = Buffer.alloc(32);

/** The client id when the Basic credentials are right, else undefined. */
function authenticate(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization ?? "";
  if (!header.startsWith("Basic ")) return undefined;
  const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  const id = decodeURIComponent(decoded.slice(0, colon));
  const secret = decodeURIComponent(decoded.slice(colon + 1));
  const expected = digests.get(id);
  const ok = timingSafeEqual(createHash("sha256").update(secret, "utf8").digest(), expected ?? UNKNOWN);
  return ok && expected !== undefined ? id : undefined;
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
const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" }] });
const redisUrl = process.env["BENCH_REDIS_URL"];
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
        const token = await new SignJWT({ client_id: client, scope })
          .setProtectedHeader({ alg: "ES256", kid, typ: "at+jwt" })
          .setIssuer(issuer)
          .setSubject(client)
          .setAudience(BENCH_AUDIENCE)
          .setIssuedAt(now)
          .setNotBefore(now)
          .setExpirationTime(now + 300)
          .setJti(randomBytes(16).toString("base64url"))
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
