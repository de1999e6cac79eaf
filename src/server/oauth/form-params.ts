import { InvalidRequestError } from "../../errors/tessera-error.js";
import type { ClientCredentialsInput } from "../../issuer/client-credentials-input.js";
import { parseBasicAuthorization } from "../../issuer/client-credentials-input.js";
import { readBody, type HttpRequest } from "../http-io.js";

/** Parameters of an application/x-www-form-urlencoded OAuth request; each appears at most once. */
export interface FormParams {
  get(name: string): string | undefined;
}

/** Largest accepted OAuth request body. */
export const MAX_FORM_BYTES = 16 * 1024;

/**
 * Reads an OAuth request: POST, form-encoded body, no parameters in the query
 * string (credentials never travel in the URI), no parameter sent twice
 * (RFC 6749 §3.2).
 */
export async function readFormParams(req: HttpRequest): Promise<FormParams> {
  const query = (req.url ?? "").indexOf("?");
  if (query >= 0 && query < (req.url ?? "").length - 1) {
    throw new InvalidRequestError("parameters must be sent in the form-encoded body, not in the query string");
  }
  const type = String(req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    throw new InvalidRequestError("content-type must be application/x-www-form-urlencoded");
  }
  const body = (await readBody(req, MAX_FORM_BYTES)).toString("utf8");
  const params = new URLSearchParams(body);
  const values = new Map<string, string>();
  for (const [name, value] of params) {
    if (values.has(name)) throw new InvalidRequestError(`parameter ${name} was sent more than once`);
    values.set(name, value);
  }
  return { get: (name) => values.get(name) };
}

/** The client authentication parameters of a form request plus its Authorization header. */
export function formCredentials(req: HttpRequest, params: FormParams): ClientCredentialsInput {
  const authorization = req.headers["authorization"];
  return {
    basic: parseBasicAuthorization(typeof authorization === "string" ? authorization : undefined),
    clientId: params.get("client_id"),
    clientSecret: params.get("client_secret"),
    clientAssertionType: params.get("client_assertion_type"),
    clientAssertion: params.get("client_assertion"),
    source: req.socket?.remoteAddress,
  };
}
