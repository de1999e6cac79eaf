// A loopback TCP proxy for HTTP/2 (h2c, prior knowledge) that appends header fields to every HEADERS
// frame the client sends. Node's HTTP/2 client and grpc-js refuse to send two `authorization` fields,
// but another client (or an attacker) may: this lets a test send them while a real client decodes the
// answer. The appended fields are HPACK literals without indexing, so neither side's table changes.
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";

const PREFACE_LENGTH = 24;
const HEADERS = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;

/** RFC 7541 §5.1 integer with an n-bit prefix. */
function hpackInteger(value: number, prefixBits: number, firstByteFlags = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByteFlags | value]);
  const bytes = [firstByteFlags | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, "latin1");
  return Buffer.concat([hpackInteger(bytes.length, 7), bytes]);
}

/** Literal header field without indexing, new name (RFC 7541 §6.2.2). */
export function hpackLiteral(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x00]), hpackString(name), hpackString(value)]);
}

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}

/** Rewrites a client HEADERS frame: padding dropped, `extra` appended to its header block. */
function withExtraFields(flags: number, streamId: number, payload: Buffer, extra: Buffer): Buffer {
  if ((flags & END_HEADERS) === 0) throw new Error("header-injecting proxy: CONTINUATION frames are not supported");
  let start = 0;
  let end = payload.length;
  if (flags & PADDED) {
    end -= payload[0]!;
    start = 1;
  }
  const priority = flags & PRIORITY ? payload.subarray(start, start + 5) : Buffer.alloc(0);
  if (flags & PRIORITY) start += 5;
  const block = payload.subarray(start, end);
  return frame(HEADERS, flags & ~PADDED, streamId, Buffer.concat([priority, block, extra]));
}

export interface HeaderInjectingProxy {
  /** "127.0.0.1:port" of the proxy. */
  readonly address: string;
  close(): Promise<void>;
}

/** Starts a proxy to `target` ("host:port") that appends `fields` to every request's headers. */
export async function startHeaderInjectingProxy(target: string, fields: readonly [string, string][]): Promise<HeaderInjectingProxy> {
  const extra = Buffer.concat(fields.map(([name, value]) => hpackLiteral(name, value)));
  const colon = target.lastIndexOf(":");
  const host = target.slice(0, colon).replace(/^\[|\]$/g, "");
  const port = Number(target.slice(colon + 1));
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    client.once("close", () => upstream.destroy());
    upstream.once("close", () => client.destroy());
    upstream.pipe(client);
    let pending = Buffer.alloc(0);
    let prefaceSeen = false;
    client.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (!prefaceSeen) {
        if (pending.length < PREFACE_LENGTH) return;
        upstream.write(pending.subarray(0, PREFACE_LENGTH));
        pending = pending.subarray(PREFACE_LENGTH);
        prefaceSeen = true;
      }
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        const type = pending[3]!;
        const flags = pending[4]!;
        const streamId = pending.readUInt32BE(5) & 0x7fffffff;
        const payload = pending.subarray(9, 9 + length);
        upstream.write(type === HEADERS ? withExtraFields(flags, streamId, payload, extra) : pending.subarray(0, 9 + length));
        pending = pending.subarray(9 + length);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port: proxyPort } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${proxyPort}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
