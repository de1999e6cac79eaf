// The caller reaches a grpc-js handler through grpcPrincipal(call), kept on the call's metadata
// where nothing else sees it: not enumerable, not printed, not writable by the handler.
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { after, before, test } from "node:test";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { CalendarService } from "../../examples/gen/example/calendar/v1/calendar_pb.js";
import { calendarGrpc } from "../../examples/mesh/calendar-service.js";
import { bridgeService, type GrpcCallContext } from "../../src/interceptors/grpc/bridge-service.js";
import { authServerInterceptor, grpcPrincipal } from "../../src/interceptors/grpc/server.js";
import { remoteVerifier } from "../../src/remote/remote-verifier.js";
import type { Principal } from "../../src/verifier/principal.js";
import { grpcJsClient } from "../helpers/grpc-client.js";
import { CALENDAR, rawToken, startMeshTessera, type MeshTessera } from "../helpers/mesh.js";

let tessera: MeshTessera;
let grpc: Server;
let target = "";
const seen: { caller: Principal | undefined; keys: (string | symbol)[]; printed: string; afterWrite: Principal | undefined }[] = [];

before(async () => {
  tessera = await startMeshTessera();
  const verifier = remoteVerifier({ issuer: tessera.server.issuer });
  grpc = new Server({ interceptors: [authServerInterceptor({ verifier, services: [CalendarService] })] });
  const calendar = calendarGrpc();
  const look = (call: GrpcCallContext) => {
    const caller = grpcPrincipal(call);
    const metadata = call.metadata as unknown as Record<string | symbol, unknown>;
    const keys = Reflect.ownKeys(metadata).filter((k) => Object.prototype.propertyIsEnumerable.call(metadata, k));
    const printed = inspect(call.metadata, { depth: 4 });
    for (const symbol of Object.getOwnPropertySymbols(metadata)) {
      try {
        metadata[symbol] = { clientId: "forged" };
      } catch {}
    }
    seen.push({ caller, keys, printed, afterWrite: grpcPrincipal(call) });
  };
  const { definition, implementation } = bridgeService(CalendarService, {
    ...calendar,
    listEvents: (req, call) => (look(call), calendar.listEvents(req, call)),
    ping: (req, call) => (look(call), calendar.ping(req, call)),
  });
  grpc.addService(definition, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    grpc.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  target = `127.0.0.1:${port}`;
});
after(async () => {
  grpc.forceShutdown();
  await tessera.server.stop();
});

test("grpcPrincipal: the verified caller in a protected method, hidden from everything else on the metadata", async () => {
  const token = await rawToken(tessera.server, "tasks", CALENDAR, ["event.view"]);
  const client = grpcJsClient(CalendarService, target);
  try {
    for (let i = 0; i < 2; i++) await client.unary("listEvents", {}, { metadata: { authorization: `Bearer ${token}` } });
  } finally {
    client.close();
  }
  assert.equal(seen.length, 2);
  for (const { caller, keys, printed, afterWrite } of seen) {
    assert.equal(caller?.clientId, "tasks");
    assert.deepEqual([...(caller?.scopes ?? [])], ["event.view"]);
    assert.ok(!keys.some((k) => typeof k === "symbol"), "no enumerable symbol on the metadata");
    assert.ok(!printed.includes("tasks") && !printed.includes("event.view"), "util.inspect of the metadata does not show the caller");
    assert.equal(afterWrite, caller, "a handler cannot overwrite it");
  }
});
