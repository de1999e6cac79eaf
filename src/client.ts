// tessera/client: getting tokens as a caller service (jose only; no transport).
export { TokenSource } from "./token-source/token-source.js";
export type { TokenSourceOptions, TokenFetcher, FetchedToken } from "./token-source/token-source.js";
export { clientCredentialsFetcher } from "./token-source/client-credentials-fetcher.js";
export type { ClientCredentialsFetcherOptions, ClientAuthentication } from "./token-source/client-credentials-fetcher.js";
export { DelegatedTokenSource, tokenExchangeFetcher } from "./token-source/delegated-token-source.js";
export type { DelegatedTokenFetcher, DelegatedTokenSourceOptions } from "./token-source/delegated-token-source.js";
