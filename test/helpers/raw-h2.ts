// An HTTP/2 client that can send what Node's own client refuses to (two
// `authorization` fields in one request): Node's client runs the connection
// over a JS duplex that replaces the HEADERS frame of its first request with
// one encoded here (HPACK literals without indexing, so the server's decoder
// state stays consistent), and decodes the server's answer as usual.
// One request per session.
import { connect, type ClientHttp2Session } from "node:http2";
import { connect as tcpConnect } from "node:net";
import { Duplex } from "node:stream";

const PREFACE_LENGTH = 24;
const HEADERS = 0x1;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;

/** RFC 7541 §5.1 integer with a 7-bit prefix (the H bit is 0: no Huffman). */
function hpackLength(n: number): Buffer {
  if (n < 127) return Buffer.from([n]);
  const out = [127];
  let rest = n - 127;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

/** RFC 7541 §6.2.2: a literal header field without indexing, new name. */
function literal(name: string, value: string): Buffer {
  return Buffer.concat([
    Buffer.from([0x00]),
    hpackLength(Buffer.byteLength(name)),
    Buffer.from(name),
    hpackLength(Buffer.byteLength(value)),
    Buffer.from(value),
  ]);
}

/**
 * Opens an h2c session to `origin` (http://127.0.0.1:port) whose first
 * request goes out with exactly `headers` (pseudo-headers first, repeats
 * allowed) instead of what the request was given; its END_STREAM flag is kept.
 */
export function h2cSessionSending(origin: string, headers: readonly (readonly [string, string])[]): ClientHttp2Session {
  const { hostname, port } = new URL(origin);
  const block = Buffer.concat(headers.map(([name, value]) => literal(name, value)));
  return connect(origin, {
    createConnection: () => {
      const socket = tcpConnect(Number(port), hostname);
      let pending = Buffer.alloc(0);
      let prefaceSent = false;
      let replaced = false;
      const duplex = new Duplex({
        read() {},
        write(chunk: Buffer, _encoding, callback) {
          if (replaced) return void socket.write(chunk, callback);
          pending = Buffer.concat([pending, chunk]);
          const out: Buffer[] = [];
          if (!prefaceSent) {
            if (pending.length < PREFACE_LENGTH) return callback();
            out.push(pending.subarray(0, PREFACE_LENGTH));
            pending = pending.subarray(PREFACE_LENGTH);
            prefaceSent = true;
          }
          while (!replaced && pending.length >= 9) {
            const length = pending.readUIntBE(0, 3);
            if (pending.length < 9 + length) break;
            const frame = pending.subarray(0, 9 + length);
            pending = pending.subarray(9 + length);
            if (frame[3] !== HEADERS) {
              out.push(frame);
              continue;
            }
            const header = Buffer.alloc(9);
            header.writeUIntBE(block.length, 0, 3);
            header[3] = HEADERS;
            header[4] = (frame[4]! & END_STREAM) | END_HEADERS;
            frame.copy(header, 5, 5, 9); // the stream id
            out.push(header, block, pending);
            pending = Buffer.alloc(0);
            replaced = true;
          }
          socket.write(Buffer.concat(out), callback);
        },
        final(callback) {
          socket.end();
          callback();
        },
        destroy(err, callback) {
          socket.destroy();
          callback(err);
        },
      });
      socket.on("data", (data: Buffer) => duplex.push(data));
      socket.on("end", () => duplex.push(null));
      socket.on("error", (err) => duplex.destroy(err));
      return duplex;
    },
  });
}

/** Sends one request on such a session; resolves with the status, headers (trailers merged in) and body. */
export function h2cExchange(
  origin: string,
  headers: readonly (readonly [string, string])[],
  body: Uint8Array,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const session = h2cSessionSending(origin, headers);
  session.on("error", () => {});
  return new Promise((resolve, reject) => {
    const plain: Record<string, string> = {};
    for (const [name, value] of headers) if (!(name in plain)) plain[name] = value;
    const request = session.request(plain, { endStream: body.length === 0 });
    const chunks: Buffer[] = [];
    let answer: Record<string, string | string[] | undefined> = {};
    request.setTimeout(10_000, () => request.close());
    request.on("response", (h) => (answer = { ...h }));
    request.on("trailers", (t) => (answer = { ...answer, ...t }));
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      session.close();
      resolve({ status: Number(answer[":status"]), headers: answer, body: Buffer.concat(chunks) });
    });
    request.on("error", (err) => {
      session.destroy();
      reject(err);
    });
    if (body.length > 0) request.end(body);
  });
}
