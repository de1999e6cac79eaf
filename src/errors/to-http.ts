import { asTesseraError, type TesseraError } from "./tessera-error.js";

/** An OAuth error as an HTTP answer: status, headers and the RFC 6749 §5.2 JSON body. */
export interface HttpErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: { error: string; error_description?: string; scope?: string };
}

const REALM = "tessera";

function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, "\\$&")}"`;
}

/**
 * The `WWW-Authenticate` challenge for an error, if it has one (RFC 6750 §3, RFC 7617).
 *
 * @example
 * ```ts
 * import { InvalidTokenError, wwwAuthenticate } from "tessera";
 *
 * wwwAuthenticate(new InvalidTokenError("the token has expired"));
 * // 'Bearer realm="tessera", error="invalid_token", error_description="the token has expired"'
 * ```
 */
export function wwwAuthenticate(err: TesseraError): string | undefined {
  if (err.challenge === "Basic") return `Basic realm=${quote(REALM)}, charset="UTF-8"`;
  if (err.challenge !== "Bearer") return undefined;
  const params = [`realm=${quote(REALM)}`];
  const tokenSent = !("tokenSent" in err) || err.tokenSent !== false;
  if (tokenSent) {
    params.push(`error=${quote(err.error)}`, `error_description=${quote(err.message)}`);
  }
  if (err.requiredScopes.length > 0) params.push(`scope=${quote(err.requiredScopes.join(" "))}`);
  return `Bearer ${params.join(", ")}`;
}

/**
 * Maps any thrown value to the OAuth HTTP answer.
 *
 * @example
 * ```ts
 * import { toHttpError } from "tessera";
 *
 * // An HTTP resource server answering a refused request the RFC 6750 way.
 * const { status, headers, body } = toHttpError(err);
 * res.writeHead(status, headers).end(JSON.stringify(body));
 * ```
 */
export function toHttpError(thrown: unknown): HttpErrorResponse {
  const err = asTesseraError(thrown);
  const headers: Record<string, string> = {
    "content-type": "application/json;charset=UTF-8",
    "cache-control": "no-store",
    pragma: "no-cache",
  };
  const challenge = wwwAuthenticate(err);
  if (challenge !== undefined) headers["www-authenticate"] = challenge;
  if (err.retryAfterSeconds !== undefined) headers["retry-after"] = String(err.retryAfterSeconds);
  const body: HttpErrorResponse["body"] = { error: err.error, error_description: err.message };
  if (err.requiredScopes.length > 0) body.scope = err.requiredScopes.join(" ");
  return { status: err.status, headers, body };
}
