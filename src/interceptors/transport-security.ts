export { isLoopbackHost } from "../internal/http-target.js";

/** The message of the refusal to send a bearer token in cleartext. */
export function cleartextRefusal(host: string): string {
  return `refusing to send a bearer token in cleartext to ${host}: use TLS, or set allowInsecure for a trusted network`;
}
