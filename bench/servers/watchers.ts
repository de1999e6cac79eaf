// Many WatchRevocations streams in one process (the bench's verifiers, without the verifying):
// BENCH_WATCH_ADDRESS (host:port of a grpc-js listener), BENCH_WATCH_CHANNELS grpc-js channels
// (one HTTP/2 connection each), streams opened on demand over IPC and spread over the channels.
// Each stream's first sight of a token revocation is recorded on CLOCK_MONOTONIC; the parent asks
// for the arrival times of a jti once it expects every stream to have it.
import { create } from "@bufbuild/protobuf";
import { Metadata, type ClientReadableStream } from "@grpc/grpc-js";
import { TokenService, type WatchRevocationsResponse } from "../../gen/tessera/v1/token_service_pb.js";
import { grpcJsClient } from "../../test/helpers/grpc-client.js";
import { BENCH_RS_CLIENT, basicAuthorization } from "../lib/bench-clients.js";
import { announce } from "../lib/processes.js";

export type WatchersCommand = { type: "open"; count: number } | { type: "arrivals"; jti: string; timeoutMs: number } | { type: "close" };
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
  call: ClientReadableStream<WatchRevocationsResponse>;
  synced: boolean;
  seen: Map<string, bigint>;
}
const streams: Stream[] = [];
/** Arrival times are kept for the most recent jtis only: bounded memory over a long run. */
const KEEP = 64;

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
      if (r.kind.case !== "token" || stream.seen.has(r.kind.value.jti)) continue;
      stream.seen.set(r.kind.value.jti, at);
      if (stream.seen.size > KEEP) stream.seen.delete(stream.seen.keys().next().value!);
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
    for (let i = 0; i < command.count; i++) open();
    const deadline = Date.now() + 60_000;
    while (streams.some((s) => !s.synced) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    process.send!({ type: "opened", streams: streams.length, synced: streams.filter((s) => s.synced).length } satisfies WatchersReport);
  } else if (command.type === "arrivals") {
    const deadline = Date.now() + command.timeoutMs;
    while (streams.some((s) => !s.seen.has(command.jti)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    const at = streams.flatMap((s) => {
      const t = s.seen.get(command.jti);
      return t === undefined ? [] : [t.toString()];
    });
    process.send!({ type: "arrivals", jti: command.jti, at, missing: streams.length - at.length } satisfies WatchersReport);
  } else {
    for (const s of streams) s.call.cancel();
    streams.length = 0;
  }
});

announce({});
process.once("SIGTERM", () => {
  for (const s of streams) s.call.cancel();
  for (const c of channels) c.close();
  process.exit(0);
});
