// The clients, audiences and secrets every server under test is configured
// with, so that one request body fits Tessera, oidc-provider and the floor.
import { createHash, timingSafeEqual } from "node:crypto";

/** The calling service: client_secret_basic, tokens for BENCH_AUDIENCE and the echo service. */
export const BENCH_CLIENT = { id: "bench", secret: "bench-secret-0123456789abcdef0123456789abcdef" } as const;
/** The resource server that introspects tokens issued for BENCH_AUDIENCE. */
export const BENCH_RS_CLIENT = { id: "bench-rs", secret: "bench-rs-secret-0123456789abcdef0123456789abcd" } as const;

/** A resource indicator (RFC 8707). */
export const BENCH_AUDIENCE = "https://bench.example.com";
/** oidc-provider only: the same resource server with opaque tokens, which it can introspect. */
export const BENCH_OPAQUE_AUDIENCE = "https://bench-opaque.example.com";
export const BENCH_SCOPES = ["bench.read", "bench.write"] as const;

/** The bench's echo service (bench/echo/echo.proto); its audience is its full name. */
export const ECHO_SERVICE = "tessera.bench.v1.EchoService";
export const ECHO_SCOPE = "echo.call";

export function basicAuthorization(client: { id: string; secret: string }): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString("base64")}`;
}

/** SHA-256 digest of a secret, as the floor stores it. */
export function secretDigest(secret: string): Buffer {
  return createHash("sha256").update(secret, "utf8").digest();
}

const FLOOR_DIGESTS = new Map<string, Buffer>([
  [BENCH_CLIENT.id, secretDigest(BENCH_CLIENT.secret)],
  [BENCH_RS_CLIENT.id, secretDigest(BENCH_RS_CLIENT.secret)],
]);
const UNKNOWN = Buffer.alloc(32);

/** The floors' client authentication: the client id when the Basic credentials are right (constant-time compare on SHA-256 digests), else undefined. */
export function floorBasicClient(header: string | undefined): string | undefined {
  if (header === undefined || !header.startsWith("Basic ")) return undefined;
  const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  const id = decodeURIComponent(decoded.slice(0, colon));
  const secret = decodeURIComponent(decoded.slice(colon + 1));
  const expected = FLOOR_DIGESTS.get(id);
  const ok = timingSafeEqual(createHash("sha256").update(secret, "utf8").digest(), expected ?? UNKNOWN);
  return ok && expected !== undefined ? id : undefined;
}

export const FORM = "application/x-www-form-urlencoded";

/** The token request every issuance row sends. */
export function tokenRequestBody(resource = BENCH_AUDIENCE): string {
  return new URLSearchParams({ grant_type: "client_credentials", resource, scope: "bench.read" }).toString();
}

/** Where the floor server finds an introspection answer in Redis: one GET of this key. */
export function floorIntrospectionKey(token: string): string {
  return `bench-floor:${createHash("sha256").update(token).digest("base64url")}`;
}
