// The admin API from a test's side: a configuration with administrators, tokens from the
// token endpoint, and real Connect and grpc-js clients of ClientAdminService.
import { createClient, type Client as ConnectClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ClientAdminService } from "../../gen/tessera/admin/v1/client_admin_service_pb.js";
import type { TesseraConfig } from "../../src/config/types.js";
import { validateConfig } from "../../src/config/validate.js";
import { hashClientSecret } from "../../src/registry/client-secret.js";
import { basicAuthorization } from "./fixtures.js";
import { grpcJsClient, type GrpcJsClient } from "./grpc-client.js";

export const ADMIN_AUDIENCE = ClientAdminService.typeName;
export const ADMIN_SECRETS = {
  admin: "admin-secret-0123456789-abcdefghij-0123456789",
  reader: "reader-secret-0123456789-abcdefghij-012345678",
  outsider: "outsider-secret-0123456789-abcdefghij-0123456",
};

/**
 * A configuration with three file clients that matter to the admin API:
 * `admin` (read and write), `reader` (read only), `outsider` (no grant for
 * the admin audience), and `filed`, a plain client from the file.
 */
export function adminConfig(options: { redisUrl?: string; redisCluster?: readonly string[]; issuer?: string; resyncSeconds?: number } = {}): TesseraConfig {
  return validateConfig(
    {
      issuer: options.issuer ?? "http://127.0.0.1:8080",
      http: { port: 0 },
      grpc: { port: 0 },
      metrics: { enabled: false },
      audit: { enabled: false },
      rateLimit: { failures: 100_000 },
      ...(options.resyncSeconds !== undefined ? { admin: { resyncSeconds: options.resyncSeconds } } : {}),
      ...(options.redisUrl !== undefined ? { redis: { url: options.redisUrl, keyPrefix: "admin-test:" } } : {}),
      ...(options.redisCluster !== undefined ? { redis: { cluster: [...options.redisCluster], keyPrefix: "admin-test:" } } : {}),
      clients: [
        {
          id: "admin",
          authMethod: "client_secret_basic",
          secretHashes: [hashClientSecret(ADMIN_SECRETS.admin)],
          grants: [{ audience: ADMIN_AUDIENCE, scopes: ["tessera.clients.read", "tessera.clients.write"] }],
        },
        {
          id: "reader",
          authMethod: "client_secret_basic",
          secretHashes: [hashClientSecret(ADMIN_SECRETS.reader)],
          grants: [{ audience: ADMIN_AUDIENCE, scopes: ["tessera.clients.read"] }],
        },
        {
          id: "outsider",
          authMethod: "client_secret_basic",
          secretHashes: [hashClientSecret(ADMIN_SECRETS.outsider)],
          grants: [{ audience: "https://files.example.com", scopes: ["file.view"] }],
        },
        {
          id: "filed",
          authMethod: "client_secret_post",
          secretHashes: [hashClientSecret(ADMIN_SECRETS.outsider)],
          grants: [{ audience: "https://files.example.com", scopes: ["file.view"] }],
        },
      ],
    },
    {},
    () => {
      throw new Error("no secret references here");
    },
  );
}

/** The token endpoint's answer: the token, or the error status and body. */
export async function requestToken(
  httpUrl: string,
  clientId: string,
  secret: string,
  params: Record<string, string>,
): Promise<{ status: number; token?: string; body: Record<string, unknown> }> {
  const res = await fetch(`${httpUrl}/oauth2/token`, {
    method: "POST",
    headers: { authorization: basicAuthorization(clientId, secret), "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", ...params }),
  });
  const body = (await res.json()) as Record<string, unknown>;
  return { status: res.status, body, ...(typeof body.access_token === "string" ? { token: body.access_token } : {}) };
}

/** An access token for the admin API with the given scopes (throws if refused). */
export async function adminToken(httpUrl: string, clientId = "admin", scope = "tessera.clients.read tessera.clients.write"): Promise<string> {
  const secret = ADMIN_SECRETS[clientId as keyof typeof ADMIN_SECRETS];
  const answer = await requestToken(httpUrl, clientId, secret, { audience: ADMIN_AUDIENCE, scope });
  if (answer.token === undefined) throw new Error(`no admin token for ${clientId}: ${JSON.stringify(answer.body)}`);
  return answer.token;
}

/** A Connect client of the admin API on the HTTP listener, sending `token` (if any). */
export function connectAdmin(httpUrl: string, token: string | undefined): ConnectClient<typeof ClientAdminService> {
  const transport = createConnectTransport({
    baseUrl: httpUrl,
    httpVersion: "1.1",
    interceptors: token === undefined ? [] : [(next) => (req) => (req.header.set("authorization", `Bearer ${token}`), next(req))],
  });
  return createClient(ClientAdminService, transport);
}

/** A grpc-js client of the admin API on the gRPC listener; pass the token per call. */
export function grpcAdmin(grpcAddress: string): GrpcJsClient<typeof ClientAdminService> {
  return grpcJsClient(ClientAdminService, grpcAddress);
}
