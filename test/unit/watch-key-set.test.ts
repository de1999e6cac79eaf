// WatchKeys shares one key-set message among its watchers and heartbeats, rebuilt on a change of the
// published keys; grpc-js serializes such a shared message once.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, fromBinary } from "@bufbuild/protobuf";
import { TokenService, WatchKeysRequestSchema, WatchKeysResponseSchema, type WatchKeysResponse } from "../../gen/tessera/v1/token_service_pb.js";
import { grpcServiceDefinition } from "../../src/interceptors/grpc/service-definition.js";
import { shareMessage } from "../../src/internal/shared-message.js";
import type { MemoryKeyStore } from "../../src/keys/key-store.js";
import { generateSigningKey } from "../../src/keys/signing-key.js";
import type { MemoryDenyList } from "../../src/store/memory/deny-list.js";
import { RevocationFanout } from "../../src/server/revocation-fanout.js";
import { watchHandlers } from "../../src/server/watch-handlers.js";
import { basicAuthorization, fixtureContext, SECRETS } from "../helpers/fixtures.js";
import { FrozenClock } from "../helpers/frozen-clock.js";

const WATCHER = basicAuthorization("calendar", SECRETS.other);

describe("WatchKeys key-set messages", () => {
  test("one message for every watcher and heartbeat until the published keys change", async () => {
    const clock = new FrozenClock();
    const { ctx } = await fixtureContext(clock);
    const fanout = new RevocationFanout(ctx.denyList as MemoryDenyList, { heartbeatMs: 10, historySize: 10, maxQueuedPerWatcher: 5, maxWatchers: 10, clock });
    fanout.start();
    assert.ok(await fanout.waitUntilSubscribed(2000));
    const watch = watchHandlers(ctx, fanout, 10);
    const aborts = new AbortController();
    const call = { authorization: [WATCHER], source: "127.0.0.1", signal: aborts.signal };
    const a = watch.watchKeys(create(WatchKeysRequestSchema), call)[Symbol.asyncIterator]();
    const b = watch.watchKeys(create(WatchKeysRequestSchema), call)[Symbol.asyncIterator]();
    try {
      const next = async (watcher: typeof a) => (await watcher.next()).value as WatchKeysResponse;
      const first = await next(a);
      assert.equal(first.jwks?.keys.length, 1);
      assert.equal(await next(b), first, "the second watcher gets the same message");
      assert.equal(await next(a), first, "and so does a heartbeat");
      (ctx.keys as MemoryKeyStore).addNext(await generateSigningKey("ES256"));
      const changed = await next(a);
      assert.notEqual(changed, first, "a new key set is a new message");
      assert.equal(changed.jwks?.keys.length, 2);
      assert.equal(await next(b), changed, "shared again");
      assert.deepEqual(JSON.parse(changed.jwks!.jwksJson).keys.length, 2);
    } finally {
      aborts.abort();
      await a.return?.();
      await b.return?.();
      fanout.close();
    }
  });

  test("grpc-js serializes a shared message once and any other message each time, to the same bytes", async () => {
    const { ctx } = await fixtureContext(new FrozenClock());
    const serialize = grpcServiceDefinition(TokenService).WatchKeys!.responseSerialize;
    const init = { revokedKids: ["k0"], heartbeatIntervalMs: 5000, jwks: { jwksJson: JSON.stringify({ keys: ctx.keys.publicJwks() }), keys: [] } };
    const plain = create(WatchKeysResponseSchema, init);
    assert.notEqual(serialize(plain), serialize(plain), "not shared: serialized per send");
    const shared = shareMessage(create(WatchKeysResponseSchema, init));
    const bytes = serialize(shared);
    assert.equal(serialize(shared), bytes, "shared: the same bytes");
    assert.deepEqual(bytes, serialize(plain));
    assert.deepEqual(fromBinary(WatchKeysResponseSchema, bytes).revokedKids, ["k0"]);
  });
});
