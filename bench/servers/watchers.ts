// Many WatchRevocations (and WatchKeys) streams in one process (the bench's verifiers, without the verifying):
// BENCH_WATCH_ADDRESS (host:port of a grpc-js listener), BENCH_WATCH_CHANNELS grpc-js channels
// (one HTTP/2 connection each), streams opened on demand over IPC and spread over the channels.
// Each stream's first sight of a token revocation (its jti), of a key revocation ("kid:<kid>") and,
// on WatchKeys, of a revoked kid is recorded on CLOCK_MONOTONIC; the parent asks for the arrival
// times of one once it expects every stream to have it.
import { create } from "@bufbuild/protobuf";
import { Metadata, type ClientReadableStream } from "@grpc/grpc-js";
import { TokenService, type WatchKeysResponse, type WatchRevocationsResponse } from "../../gen/tessera/v1/token_service_pb.js";
import { grpcJsClient } from "../../test/helpers/grpc-client.js";
import { BENCH_RS_CLIENT, basicAuthorization } from "../lib/bench-clients.js";
import { announce } from "../lib/processes.js";

export type WatchersCommand =
  | { type: "open"; count: number; keys?: boolean }
  | { type: "arrivals"; jti: string; keys?: boolean; timeoutMs: number }
  | { type: "close" };
export type WatchersReport =
  | { type: "opened"; streams: number; synced: number }
  | { type: "arrivals"; jti: string; at: string[]; missing: number }
  | { type: "ended"; code: number; details: string };

const address = process.env.BENCH_WATCH_ADDRESS!;
const channels = Array.from({ length: Number(process.env.BENCH_WATCH_CHANNELS ?? "4") }, () =>
  // A local subchannel pool: otherwise grpc-js shares one connection between channels to the same target.
  grpcJsClient(TokenService, address, undefined, { "grpc.max_receive_message_length": 16 * 1024 * 1024, "grpc.use_local_subchannel_pool": 1 }),
);
const metadata = new Metadata();
metadata.set("authorization", basicAuthorization(BENCH_RS_CLIENT));

interface Stream {
  call: ClientReadableStream<WatchRevocationsResponse | WatchKeysResponse>;
  synced: boolean;
  seen: Map<string, bigint>;
}
const streams: Stream[] = [];
const keyStreams: Stream[] = [];
/** Arrival times are kept for the most recent jtis only: bounded memory over a long run. */
const KEEP = 64;

function see(stream: Stream, id: string, at: bigint): void {
  if (stream.seen.has(id)) return;
  stream.seen.set(id, at);
  if (stream.seen.size > KEEP) stream.seen.delete(stream.seen.keys().next().value!);
}

/** A WatchKeys stream: every revoked kid it is told of, from its first message on ("synced" once the first set arrived). */
function openKeys(): Stream {
  const client = channels[keyStreams.length % channels.length]!;
  const method = (client.raw as unknown as Record<string, (req: unknown, md: Metadata) => ClientReadableStream<WatchKeysResponse>>).WatchKeys!;
  const call = method.call(client.raw, create(TokenService.method.watchKeys.input, {}), metadata);
  const stream: Stream = { call, synced: false, seen: new Map() };
  call.on("data", (m: WatchKeysResponse) => {
    const at = process.hrtime.bigint();
    stream.synced = true;
    for (const kid of m.revokedKids) see(stream, `kid:${kid}`, at);
  });
  call.on("error", (err: { code: number; details: string }) => {
    if (err.code !== 1) process.send!({ type: "ended", code: err.code, details: err.details } satisfies WatchersReport);
  });
  keyStreams.push(stream);
  return stream;
}

function open(): Stream {
  const client = channels[streams.length % channels.length]!;
  const method = (client.raw as unknown as Record<string, (req: unknown, md: Metadata) => ClientReadableStream<WatchRevocationsResponse>>).WatchRevocations!;
  const call = method.call(client.raw, create(TokenService.method.watchRevocations.input, {}), metadata);
  const stream: Stream = { call, synced: false, seen: new Map() };
  call.on("data", (m: WatchRevocationsResponse) => {
    const at = process.hrtime.bigint();
    if (m.synced) stream.synced = true;
    if (m.reset) return; // the snapshot: nothing new
    for (const r of m.revocations) {
      if (r.kind.case === "token") see(stream, r.kind.value.jti, at);
      else if (r.kind.case === "key") see(stream, `kid:${r.kind.value.kid}`, at);
    }
  });
  call.on("error", (err: { code: number; details: string }) => {
    if (err.code !== 1) process.send!({ type: "ended", code: err.code, details: err.details } satisfies WatchersReport);
  });
  streams.push(stream);
  return stream;
}

process.on("message", async (command: WatchersCommand) => {
  if (command.type === "open") {
    const list = command.keys ? keyStreams : streams;
    for (let i = 0; i < command.count; i++) (command.keys ? openKeys : open)();
    const deadline = Date.now() + 60_000;
    while (list.some((s) => !s.synced) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    process.send!({ type: "opened", streams: list.length, synced: list.filter((s) => s.synced).length } satisfies WatchersReport);
  } else if (command.type === "arrivals") {
    const list = command.keys ? keyStreams : streams;
    const deadline = Date.now() + command.timeoutMs;
    while (list.some((s) => !s.seen.has(command.jti)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    const at = list.flatMap((s) => {
      const t = s.seen.get(command.jti);
      return t === undefined ? [] : [t.toString()];
    });
    process.send!({ type: "arrivals", jti: command.jti, at, missing: list.length - at.length } satisfies WatchersReport);
  } else {
    for (const s of [...streams, ...keyStreams]) s.call.cancel();
    streams.length = 0;
    keyStreams.length = 0;
  }
});

announce({});
process.once("SIGTERM", () => {
  for (const s of [...streams, ...keyStreams]) s.call.cancel();
  for (const c of channels) c.close();
  process.exit(0);
});
