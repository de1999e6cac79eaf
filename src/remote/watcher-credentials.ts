import type { ClientAuthentication } from "../token-source/client-credentials-fetcher.js";

/**
 * How a watching service authenticates to the token service's streams: its
 * client id and one of the methods its registration allows. The client must
 * be a resource server (audiences of its own, or introspection).
 */
export interface WatcherCredentials {
  clientId: string;
  auth: ClientAuthentication;
}
