import { InvalidRequestError, InvalidTargetError } from "../../errors/tessera-error.js";
import type { ClientAddressResolver } from "../../internal/source-address.js";
import type { ClientCredentialsInput } from "../../issuer/client-authentication/client-credentials-input.js";
import { parseBasicAuthorization, soleAuthorization } from "../../issuer/client-authentication/client-credentials-input.js";
import { clientAddress, headerValues, readBody, type HttpRequest } from "../http-io.js";

/** Parameters of an application/x-www-form-urlencoded OAuth request; each appears at most once. */
export interface FormParams {
  get(name: string): string | undefined;
}

/** Largest accepted OAuth request body. */
export const MAX_FORM_BYTES = 16 * 1024;

/**
 * Reads an OAuth request: POST, form-encoded body, no parameters in the query
 * string (credentials never travel in the URI, so a query access_token is
 * refused too), no parameter sent twice (RFC 6749 §3.2; a repeated
 * `resource` is invalid_target, RFC 8707 §2).
 */
export async function readFormParams(req: HttpRequest): Promise<FormParams> {
  const query = (req.url ?? "").indexOf("?");
  if (query >= 0 && query < (req.url ?? "").length - 1) {
    throw new InvalidRequestError("parameters must be sent in the form-encoded body, not in the query string");
  }
  const type = String(req.headers["content-type"] ?? "")
    .split(";")[0]!
    .trim()
    .toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    throw new InvalidRequestError("content-type must be application/x-www-form-urlencoded");
  }
  const body = (await readBody(req, MAX_FORM_BYTES)).toString("utf8");
  const params = new URLSearchParams(body);
  const values = new Map<string, string>();
  for (const [name, value] of params) {
    if (values.has(name)) {
      // RFC 8707 §2: one target per request here; a repeated resource is invalid_target.
      if (name === "resource" || name === "audience") throw new InvalidTargetError(`${name} was sent more than once: request one target`, { malformed: true });
      throw new InvalidRequestError(`parameter ${name} was sent more than once`);
    }
    values.set(name, value);
  }
  return values;
}

/**
 * The client authentication parameters of a form request plus its one
 * Authorization header (two are refused), and the client's address.
 */
export function formCredentials(req: HttpRequest, params: FormParams, addresses: ClientAddressResolver): ClientCredentialsInput {
  return {
    basic: parseBasicAuthorization(soleAuthorization(headerValues(req, "authorization"))),
    clientId: params.get("client_id"),
    clientSecret: params.get("client_secret"),
    clientAssertionType: params.get("client_assertion_type"),
    clientAssertion: params.get("client_assertion"),
    source: clientAddress(req, addresses),
  };
}
