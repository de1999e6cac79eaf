/** Whether a host name or address is on this machine (loopback). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h.endsWith(".localhost");
}

/** The message of the refusal to send a bearer token in cleartext. */
export function cleartextRefusal(host: string): string {
  return `refusing to send a bearer token in cleartext to ${host}: use TLS, or set allowInsecure for a trusted network`;
}
