import { InvalidTokenError, UnauthorizedClientError } from "../errors/tessera-error.js";
import type { RegisteredClient } from "../registry/registered-client.js";
import { authenticateClient, consumeClientAssertion } from "./client-authentication/authenticate-client.js";
import type { ClientCredentialsInput } from "./client-authentication/client-credentials-input.js";
import type { IssuerContext } from "./issuer-context.js";
import { verifyOwnToken } from "./own-token.js";

/** How a watcher of WatchRevocations / WatchKeys proves who it is. */
export type WatcherCredentials = { readonly credentials: ClientCredentialsInput } | { readonly bearer: string };

/**
 * Whether a client may watch revocations and keys: it is a resource server,
 * i.e. it declares audiences of its own (`audiences` in its configuration) or
 * may introspect. Clients that only call other services learn nothing from
 * the streams and are refused, so that a leaked caller credential does not
 * open a long-lived stream.
 */
export function isResourceServer(client: RegisteredClient): boolean {
  return client.introspection || client.resourceAudiences.size > 1;
}

/**
 * Authenticates and authorizes a watcher: client credentials (as for
 * introspection: secret, Basic or assertion, a used assertion consumed), or
 * an unexpired, unrevoked access token of this issuer whose client is still
 * registered. Bad credentials: invalid_client / invalid_token
 * (UNAUTHENTICATED); a client that is not a resource server:
 * unauthorized_client (PERMISSION_DENIED). Resolves the client's id.
 */
export async function authorizeWatcher(ctx: IssuerContext, input: WatcherCredentials): Promise<string> {
  const client = "bearer" in input ? await bearerClient(ctx, input.bearer) : await credentialsClient(ctx, input.credentials);
  if (!isResourceServer(client)) throw new UnauthorizedClientError("only a resource server (a client with audiences or introspection) may watch");
  return client.id;
}

async function credentialsClient(ctx: IssuerContext, credentials: ClientCredentialsInput): Promise<RegisteredClient> {
  const authenticated = await authenticateClient(ctx, credentials);
  await consumeClientAssertion(ctx, authenticated);
  return authenticated.client;
}

async function bearerClient(ctx: IssuerContext, token: string): Promise<RegisteredClient> {
  const claims = await verifyOwnToken(ctx, token);
  const client = claims === undefined ? undefined : ctx.clients.get(claims.clientId);
  if (claims === undefined || client === undefined) throw new InvalidTokenError("the bearer token is not a valid access token of this issuer");
  const [revoked, cutOff] = await Promise.all([
    ctx.denyList.isRevoked(claims.iss, claims.jti),
    ctx.denyList.isClientRevoked(claims.iss, claims.clientId, claims.iat),
  ]);
  if (revoked || cutOff) throw new InvalidTokenError("the bearer token has been revoked");
  return client;
}
