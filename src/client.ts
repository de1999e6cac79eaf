// tessera/client: getting tokens as a caller service.
export { TokenSource, type TokenSourceOptions, type TokenFetcher, type FetchedToken } from "./token-source/token-source.js";
export { clientCredentialsFetcher, type ClientCredentialsFetcherOptions, type ClientAuthentication } from "./token-source/client-credentials-fetcher.js";
