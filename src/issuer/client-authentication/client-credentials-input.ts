import { decodeJwt } from "jose";
import { InvalidRequestError } from "../../errors/tessera-error.js";

/** The client authentication parameters of a request, as received (RFC 6749 §2.3, RFC 7521 §4.2). */
export interface ClientCredentialsInput {
  /** From an `Authorization: Basic` header, already form-url-decoded. */
  basic?: { clientId: string; clientSecret: string } | undefined;
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  clientAssertionType?: string | undefined;
  clientAssertion?: string | undefined;
  /**
   * The IP address the request came from (the transport's peer), for
   * throttling failed authentications per (client, source). Not a credential.
   */
  source?: string | undefined;
}

function formUrlDecode(value: string): string {
  // Most ids and secrets have nothing to decode.
  if (!value.includes("%") && !value.includes("+")) return value;
  try {
    return decodeURIComponent(value.replace(/\+/g, " "));
  } catch {
    throw new InvalidRequestError("malformed Basic credentials");
  }
}

/**
 * The one `authorization` value of a request, given every value it carried
 * (header lines or metadata entries): two credentials where one is expected
 * are refused with invalid_request, never one of them picked.
 */
export function soleAuthorization(values: readonly string[]): string | undefined {
  if (values.length > 1) throw new InvalidRequestError("send one authorization header, not several");
  return values[0];
}

/**
 * Parses an `Authorization` header value. Returns the Basic credentials
 * (form-url-decoded as RFC 6749 §2.3.1 requires), or undefined when the header
 * is absent or uses another scheme.
 */
export function parseBasicAuthorization(header: string | null | undefined): ClientCredentialsInput["basic"] {
  if (!header) return undefined;
  const match = /^Basic[ ]+([A-Za-z0-9+/=._~-]*)\s*$/i.exec(header);
  if (!match) {
    if (/^Basic\b/i.test(header)) throw new InvalidRequestError("malformed Basic credentials");
    return undefined;
  }
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0) throw new InvalidRequestError("malformed Basic credentials");
  return { clientId: formUrlDecode(decoded.slice(0, colon)), clientSecret: formUrlDecode(decoded.slice(colon + 1)) };
}

/**
 * The client a request claims to be, read without checking anything: the
 * Basic user, client_id, or the client assertion's `sub`. Undefined when the
 * request names no client. Never trusted on its own: authentication decides.
 */
export function claimedClientId(input: ClientCredentialsInput): string | undefined {
  let clientId = input.basic?.clientId ?? input.clientId;
  if (clientId === undefined && input.clientAssertion !== undefined) {
    try {
      const sub = decodeJwt(input.clientAssertion).sub;
      if (typeof sub === "string") clientId = sub;
    } catch {
      // A malformed assertion names no client.
    }
  }
  return clientId === "" ? undefined : clientId;
}
