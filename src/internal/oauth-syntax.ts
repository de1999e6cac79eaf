// OAuth 2.0 syntax shared by the configuration, the issuer, the token source and the proto rules.

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** The client_assertion_type of RFC 7523 section 2.2 (private_key_jwt, client_secret_jwt, workload tokens). */
export const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
