import { errorFromOAuthResponse } from "../errors/from-oauth-error.js";
import { TemporarilyUnavailableError } from "../errors/tessera-error.js";
import { checkedTransportUrl, fetchFailureReason, printableUrl } from "../internal/http-target.js";
import { CLIENT_ASSERTION_TYPE } from "../internal/oauth-syntax.js";
import { type ClientAuthentication, clientAuthenticationParts } from "./client-assertion.js";
import type { FetchedToken, TokenFetcher } from "./token-source.js";

export type { ClientAuthentication } from "./client-assertion.js";

/** Options of clientCredentialsFetcher. */
export interface ClientCredentialsFetcherOptions {
  /** The token endpoint, e.g. "http://127.0.0.1:8080/oauth2/token". */
  tokenEndpoint: string;
  /** The issuer identifier, the `aud` of client assertions. Default: the token endpoint without "/oauth2/token". */
  issuer?: string;
  clientId: string;
  auth: ClientAuthentication;
  /** Abort a token request after this long. Default 5000 ms. */
  timeoutMs?: number;
  /** Send `audience` instead of `resource` (for audiences that are not URIs). Default: `resource` for absolute URIs, else `audience`. */
  audienceParameter?: "resource" | "audience";
  /**
   * Send client credentials over cleartext HTTP to a host that is not
   * loopback. Default false: such a `tokenEndpoint` makes
   * clientCredentialsFetcher throw, because anyone on the path could read the
   * secret (or replay the assertion). Use https, or set this only on a
   * network you trust.
   */
  allowInsecure?: boolean;
}

function isAbsoluteUri(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(value);
}

/** Posts a token request with the client's authentication; resolves the token or rejects with a TesseraError. */
export type TokenRequestPoster = (params: URLSearchParams) => Promise<FetchedToken>;

/**
 * The token endpoint of `options`, checked (https, or http to loopback unless
 * allowInsecure), as a function that adds the client's authentication to a
 * request's parameters, posts it and reads the token response. Shared by the
 * client_credentials and token-exchange fetchers.
 */
export function tokenRequestPoster(options: ClientCredentialsFetcherOptions, purpose: string): TokenRequestPoster {
  const endpoint = checkedTransportUrl(options.tokenEndpoint, purpose, options.allowInsecure === true);
  const where = printableUrl(endpoint);
  const issuer = options.issuer ?? options.tokenEndpoint.replace(/\/oauth2\/token$/, "");
  const timeoutMs = options.timeoutMs ?? 5000;

  return async (params): Promise<FetchedToken> => {
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
    const parts = await clientAuthenticationParts(options.clientId, issuer, options.auth);
    if (parts.kind === "basic") {
      headers.authorization = parts.authorization;
    } else if (parts.kind === "post") {
      params.set("client_id", parts.clientId);
      params.set("client_secret", parts.clientSecret);
    } else {
      params.set("client_assertion_type", CLIENT_ASSERTION_TYPE);
      params.set("client_assertion", parts.clientAssertion);
    }

    let response: Response;
    try {
      response = await fetch(endpoint, { method: "POST", headers, body: params.toString(), signal: AbortSignal.timeout(timeoutMs), redirect: "error" });
    } catch (err) {
      const error = new TemporarilyUnavailableError(`the token service at ${where} cannot be reached: ${fetchFailureReason(err)}`);
      error.cause = err;
      throw error;
    }
    let body: Record<string, unknown>;
    try {
      body = (await response.json()) as Record<string, unknown>;
    } catch {
      throw new TemporarilyUnavailableError(`the token service at ${where} answered HTTP ${response.status} without JSON`);
    }
    if (!response.ok) {
      const retryAfter = Number(response.headers.get("retry-after") ?? NaN);
      throw errorFromOAuthResponse(response.status, body, Number.isFinite(retryAfter) ? retryAfter : undefined);
    }
    const accessToken = body.access_token;
    const expiresIn = body.expires_in;
    if (typeof accessToken !== "string" || typeof expiresIn !== "number" || String(body.token_type).toLowerCase() !== "bearer") {
      throw new TemporarilyUnavailableError(`the token service at ${where} answered a malformed token response`);
    }
    return { accessToken, expiresIn };
  };
}

/** Sets resource (an absolute URI) or audience, and scope, on a token request. */
export function setTarget(
  params: URLSearchParams,
  options: Pick<ClientCredentialsFetcherOptions, "audienceParameter">,
  audience: string,
  scopes: readonly string[],
): void {
  params.set(options.audienceParameter ?? (isAbsoluteUri(audience) ? "resource" : "audience"), audience);
  if (scopes.length > 0) params.set("scope", scopes.join(" "));
}

/**
 * Fetches tokens from an OAuth 2.0 token endpoint with the client_credentials
 * grant (Tessera's, or any RFC 6749 server). The endpoint must be https, or
 * http to a loopback host, unless `allowInsecure`. A network failure or a 5xx
 * is TemporarilyUnavailableError (UNAVAILABLE to the caller), its message
 * naming the endpoint (never credentials) and the reason, the original error
 * as its `cause`; an OAuth error is mapped to the same error classes the
 * server uses.
 *
 * @example
 * const source = new TokenSource({ fetch: clientCredentialsFetcher({
 *   tokenEndpoint: "http://127.0.0.1:8080/oauth2/token", clientId: "tasks",
 *   auth: { method: "client_secret_basic", secret: process.env.TASKS_SECRET! } }) });
 */
export function clientCredentialsFetcher(options: ClientCredentialsFetcherOptions): TokenFetcher {
  const post = tokenRequestPoster(options, "client credentials");
  return ({ audience, scopes }) => {
    const params = new URLSearchParams({ grant_type: "client_credentials" });
    setTarget(params, options, audience, scopes);
    return post(params);
  };
}
