/** The claims of a verified RFC 9068 access token. */
export interface AccessTokenClaims {
  readonly iss: string;
  readonly sub: string;
  /** The one audience Tessera issues tokens for. */
  readonly aud: string;
  readonly exp: number;
  readonly iat: number;
  readonly nbf: number | undefined;
  readonly jti: string;
  /** The key that signed the token (header kid). */
  readonly kid: string;
  readonly clientId: string;
  /** The scopes, split from the space-separated `scope` claim. */
  readonly scopes: readonly string[];
  /** The raw claim set, for handlers that need more. */
  readonly raw: Readonly<Record<string, unknown>>;
}
