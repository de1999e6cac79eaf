import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  type ClientCredentials,
  type WatchKeysRequest,
  type WatchKeysResponse,
  WatchKeysResponseSchema,
  type WatchRevocationsRequest,
  type WatchRevocationsResponseSchema,
} from "../../gen/tessera/v1/token_service_pb.js";
import { shareMessage } from "../internal/shared-message.js";
import { InvalidRequestError, TemporarilyUnavailableError, type TesseraError } from "../errors/tessera-error.js";
import { authorizeWatcher, type WatcherCredentials } from "../issuer/authorize-watcher.js";
import type { IssuerContext } from "../issuer/issuer-context.js";
import { bearerToken } from "../verifier/bearer-token.js";
import type { RevocationFanout, WatchCall } from "./revocation-fanout.js";
import { type CallInfo, credentialsOf, jwksMessage } from "./token-service-handlers.js";

/** What WatchKeys follows: the key manager's published set and its revoked key ids. A fixed key set never changes. */
export interface PublishedKeys {
  revokedKids(): readonly string[];
  onPublishedChange(listener: () => void): () => void;
}

const FIXED_KEYS: PublishedKeys = { revokedKids: () => [], onPublishedChange: () => () => {} };

/** A stream call as the watch handlers see it, whatever the transport. */
export type WatchCallInfo = CallInfo & WatchCall;

/**
 * The credentials of a watcher: a Tessera access token as `authorization: Bearer`, else client
 * credentials in the request or a Basic header (as for Introspect); not both.
 */
function watcherCredentials(client: ClientCredentials | undefined, call: CallInfo): WatcherCredentials {
  const [authorization] = call.authorization;
  if (call.authorization.length === 1 && authorization !== undefined && /^bearer(\s|$)/i.test(authorization)) {
    if (call.queryToken) throw new InvalidRequestError("credentials must not be sent in the query string");
    if (client !== undefined && (client.clientId !== "" || client.clientSecret !== "" || client.clientAssertion !== "")) {
      throw new InvalidRequestError("use exactly one client authentication method per request");
    }
    const token = bearerToken(call.authorization);
    if (token !== undefined) return { bearer: token };
  }
  return { credentials: credentialsOf(client, call) };
}

/**
 * WatchRevocations and WatchKeys over the issuer and the replica's fan-out: protobuf messages out,
 * no transport code. Each call authorizes its watcher first (see authorizeWatcher).
 */
export function watchHandlers(ctx: IssuerContext, fanout: RevocationFanout, heartbeatMs: number, keys: PublishedKeys = FIXED_KEYS) {
  const keySet = keySetMessages(ctx, keys, heartbeatMs);
  return {
    async *watchRevocations(req: WatchRevocationsRequest, call: WatchCallInfo): AsyncIterable<MessageInitShape<typeof WatchRevocationsResponseSchema>> {
      await authorizeWatcher(ctx, watcherCredentials(req.client, call));
      const gone = ctx.events?.watcherConnected("revocations");
      try {
        yield* fanout.watch(req.cursor, call);
      } finally {
        gone?.();
      }
    },

    async *watchKeys(req: WatchKeysRequest, call: WatchCallInfo): AsyncIterable<MessageInitShape<typeof WatchKeysResponseSchema>> {
      await authorizeWatcher(ctx, watcherCredentials(req.client, call));
      const gone = ctx.events?.watcherConnected("keys");
      let failed: TesseraError | undefined;
      let changed = false;
      let wake: (() => void) | undefined;
      const leave = fanout.admit({
        fail(error) {
          failed = error;
          wake?.();
        },
      });
      const stopFollowing = keys.onPublishedChange(() => {
        changed = true;
        wake?.();
      });
      const onAbort = () => {
        failed ??= new TemporarilyUnavailableError("the watcher went away");
        wake?.();
      };
      call.signal.addEventListener("abort", onAbort);
      try {
        while (true) {
          if (failed !== undefined) throw failed;
          changed = false;
          // The whole set every time: a watcher that missed a change (or a heartbeat) loses nothing.
          yield keySet();
          if (changed || failed !== undefined) continue;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, heartbeatMs);
            function done() {
              clearTimeout(timer);
              wake = undefined;
              resolve();
            }
            wake = done;
          });
        }
      } finally {
        call.signal.removeEventListener("abort", onAbort);
        stopFollowing();
        leave();
        gone?.();
      }
    },
  };
}

export type WatchHandlers = ReturnType<typeof watchHandlers>;

/**
 * The WatchKeys message of the key set in force, built once per change and shared by every watcher
 * and heartbeat (grpc-js also serializes it once: shareMessage). A change is a new array from
 * `publicJwks()` (both key stores publish a new frozen one; the key manager on every ring it adopts,
 * revoked kids included) or a published-keys event, whichever comes first.
 */
function keySetMessages(ctx: IssuerContext, keys: PublishedKeys, heartbeatMs: number): () => WatchKeysResponse {
  let built: { jwks: readonly unknown[]; message: WatchKeysResponse } | undefined;
  keys.onPublishedChange(() => {
    built = undefined;
  });
  return () => {
    const jwks = ctx.keys.publicJwks();
    if (built === undefined || built.jwks !== jwks) {
      const message = create(WatchKeysResponseSchema, { jwks: jwksMessage(ctx), revokedKids: [...keys.revokedKids()], heartbeatIntervalMs: heartbeatMs });
      built = { jwks, message: shareMessage(message) };
    }
    return built.message;
  };
}
