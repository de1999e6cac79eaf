import { readFileSync } from "node:fs";
import { toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client as ConnectClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ClientAdminService, ClientSchema, ClientSource, type Client } from "../../gen/tessera/admin/v1/client_admin_service_pb.js";
import { checkedTransportUrl } from "../internal/http-target.js";
import { ExitWith, UsageError } from "./exit-codes.js";

/** How the CLI reaches the admin API, from flags or the environment. */
export interface AdminConnection {
  /** The HTTP listener's base URL. */
  url: string;
  clientId: string;
  /** A file holding the admin client's secret; else TESSERA_ADMIN_CLIENT_SECRET. */
  clientSecretFile?: string;
}

const ADMIN_AUDIENCE = ClientAdminService.typeName;

function adminSecret(connection: AdminConnection): string {
  if (connection.clientSecretFile !== undefined) return readFileSync(connection.clientSecretFile, "utf8").trim();
  const secret = process.env.TESSERA_ADMIN_CLIENT_SECRET;
  if (secret === undefined || secret === "")
    throw new UsageError("the admin client's secret: set TESSERA_ADMIN_CLIENT_SECRET or pass --client-secret-file FILE");
  return secret;
}

/** A token for the admin API with just the scope the command needs, from the token endpoint (client_secret_basic). */
async function adminToken(connection: AdminConnection, scope: string): Promise<string> {
  const base = checkedTransportUrl(connection.url, "the admin client's credentials", false);
  const basic = Buffer.from(`${encodeURIComponent(connection.clientId)}:${encodeURIComponent(adminSecret(connection))}`).toString("base64");
  const res = await fetch(new URL("/oauth2/token", base), {
    method: "POST",
    headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", audience: ADMIN_AUDIENCE, scope }),
  });
  const body = (await res.json().catch(() => ({}))) as { access_token?: unknown; error?: unknown; error_description?: unknown };
  if (typeof body.access_token !== "string") {
    throw new Error(
      `the token service refused client "${connection.clientId}" a token for ${ADMIN_AUDIENCE} (${scope}): ${String(body.error ?? res.status)}${body.error_description ? ` (${String(body.error_description)})` : ""}`,
    );
  }
  return body.access_token;
}

/** A Connect client of the admin API, authorized for `scope`. */
export async function adminClient(
  connection: AdminConnection,
  scope: "tessera.clients.read" | "tessera.clients.write",
): Promise<ConnectClient<typeof ClientAdminService>> {
  const token = await adminToken(connection, scope);
  const transport = createConnectTransport({
    baseUrl: connection.url,
    httpVersion: "1.1",
    interceptors: [
      (next) => (req) => {
        req.header.set("authorization", `Bearer ${token}`);
        return next(req);
      },
    ],
  });
  return createClient(ClientAdminService, transport);
}

/** Runs an admin call; an API error is printed as the server said it (code and message) and ends the command with exit code 1. */
export async function adminCall<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof ConnectError)) throw err;
    process.stderr.write(`tessera: ${Code[err.code]}: ${err.rawMessage}\n`);
    throw new ExitWith(1);
  }
}

/** One client for people: a line per field that matters. */
export function describeClient(client: Client): string {
  const lines = [
    `${client.clientId}  (${client.source === ClientSource.FILE ? "from the configuration file, read-only" : `version ${client.version}`})`,
    `  auth method:   ${client.authMethod}`,
    `  enabled:       ${client.enabled ? "yes" : "no"}`,
    `  grant types:   ${client.grantTypes.join(", ") || "(none)"}`,
    ...(client.grants.length === 0
      ? ["  grants:        (none)"]
      : client.grants.map((g) => `  grant:         ${g.audience}  ${g.scopes.join(" ") || "(no scopes)"}`)),
  ];
  if (client.audiences.length > 0) lines.push(`  audiences:     ${client.audiences.join(", ")}`);
  if (client.introspection) lines.push("  introspection: allowed");
  if (client.tokenLifetimeSeconds > 0) lines.push(`  token life:    ${client.tokenLifetimeSeconds} s`);
  for (const s of client.secrets) lines.push(`  secret:        ${s.secretId}`);
  if (client.jwksUri !== "") lines.push(`  jwks uri:      ${client.jwksUri}`);
  if (client.jwksJson !== "") lines.push(`  jwks:          ${(JSON.parse(client.jwksJson) as { keys: unknown[] }).keys.length} key(s) inline`);
  return `${lines.join("\n")}\n`;
}

/** A client as JSON (the API's JSON mapping), for scripts. */
export function clientJson(client: Client): unknown {
  return JSON.parse(toJsonString(ClientSchema, client));
}
