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
  /**
   * The delegation chain of an exchanged token (RFC 8693 §4.1 `act`): the
   * current actor first (it is also `clientId`), then the prior ones. Empty
   * when the client acts for itself.
   */
  readonly actors: readonly string[];
  /** The raw claim set, for handlers that need more. */
  readonly raw: Readonly<Record<string, unknown>>;
}
