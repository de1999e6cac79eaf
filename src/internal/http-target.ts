/**
 * Whether a host name or address is on this machine (loopback): `localhost`,
 * 127.0.0.0/8 or ::1, bracketed or not. Not `*.localhost`: whether those
 * resolve to loopback is up to the machine's resolver (RFC 6761 asks, glibc
 * does not enforce), and this answer decides whether cleartext is allowed.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** A URL as it may appear in an error message or a log: scheme, host, port and path; never user info or a query. */
export function printableUrl(url: string | URL): string {
  try {
    const parsed = typeof url === "string" ? new URL(url) : url;
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "(an unparseable URL)";
  }
}

/**
 * Checks that `url` may carry `what` (credentials, or keys whose holder can
 * mint accepted tokens): https, or http to a loopback host, unless
 * `allowInsecure`, and without user info. Returns the parsed URL; throws an
 * Error naming the URL (without user info or query) otherwise.
 */
export function checkedTransportUrl(url: string, what: string, allowInsecure: boolean): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`the URL for ${what} is not an absolute URL`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new Error(`the URL for ${what} must be https (or http to loopback), got ${printableUrl(parsed)}`);
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw new Error(`the URL for ${what} must not hold credentials (user info): ${printableUrl(parsed)}`);
  }
  if (parsed.protocol === "http:" && !allowInsecure && !isLoopbackHost(parsed.hostname)) {
    throw new Error(`refusing ${what} over cleartext HTTP to ${printableUrl(parsed)}: use https, or set allowInsecure for a trusted network`);
  }
  return parsed;
}

/** The most telling part of a fetch() rejection: undici's network errors hide the code (ECONNREFUSED, ENOTFOUND) in `cause`. */
export function fetchFailureReason(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return cause.message;
  return err instanceof Error ? err.message : String(err);
}
