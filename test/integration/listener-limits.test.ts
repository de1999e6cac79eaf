// Slow, idle and excess connections on both listeners are closed, while
// healthy clients are served meanwhile (http.limits, grpc.limits).
import assert from "node:assert/strict";
import { connect as http2Connect, type ClientHttp2Session } from "node:http2";
import { connect as netConnect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { TokenService } from "../../gen/tessera/v1/token_service_pb.js";
import type { ListenerLimits } from "../../src/config/types.js";
import type { TesseraServer } from "../../src/server/tessera-server.js";
import { startCapturedServer } from "../helpers/start-server.js";
import { fixtureConfig } from "../helpers/fixtures.js";
import { grpcJsClient } from "../helpers/grpc-client.js";

const SHORT: ListenerLimits = {
  maxConnections: 64,
  headersTimeoutMs: 300,
  requestTimeoutMs: 400,
  idleTimeoutMs: 300,
  maxConcurrentStreams: 10,
  maxHeaderBytes: 4096,
};

async function start(limits: ListenerLimits): Promise<TesseraServer> {
  const { config } = await fixtureConfig();
  config.http.limits = limits;
  config.grpc.limits = limits;
  return startCapturedServer({ config });
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

function grpcPortOf(server: TesseraServer): number {
  return Number(server.grpcAddress.split(":").pop());
}

/** A raw TCP connection that has written `bytes` (maybe none) and then holds; resolves once connected. */
async function rawConnection(port: number, bytes = ""): Promise<{ socket: Socket; closed: Promise<string> }> {
  const socket = netConnect({ host: "127.0.0.1", port });
  let received = "";
  socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
  socket.on("error", () => {});
  const closed = new Promise<string>((resolve) => socket.once("close", () => resolve(received)));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  if (bytes !== "") socket.write(bytes);
  return { socket, closed };
}

function sessionClosed(session: ClientHttp2Session): Promise<void> {
  session.on("error", () => {});
  return new Promise((resolve) => session.once("close", () => resolve()));
}

async function healthz(server: TesseraServer): Promise<number> {
  const res = await fetch(`${server.httpUrl}/healthz`);
  await res.arrayBuffer();
  return res.status;
}

async function grpcHealthy(server: TesseraServer): Promise<number> {
  const client = grpcJsClient(Health, server.grpcAddress);
  try {
    return (await client.unary("check", { service: "" }, { timeoutMs: 5000 })).status;
  } finally {
    client.close();
  }
}

describe("slow and idle connections are closed, healthy clients served meanwhile", () => {
  let server: TesseraServer;
  before(async () => {
    server = await start(SHORT);
  });
  after(() => server?.stop());

  test("HTTP listener: silent, one-byte, partial-head, partial-body and idle keep-alive connections (HTTP/1.1 and h2c)", async () => {
    const port = portOf(server.httpUrl);
    const slow = await Promise.all([
      rawConnection(port),
      rawConnection(port, "G"),
      rawConnection(port, "P"), // could be the HTTP/2 preface: httpolyglot waits for more
      rawConnection(port, "PRI * HTTP/2.0\r\n"),
      rawConnection(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "),
      rawConnection(
        port,
        "POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=",
      ),
      rawConnection(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), // answered, then idle on keep-alive
      rawConnection(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(SHORT.maxHeaderBytes)}\r\n\r\n`),
    ]);
    // An h2c session that never opens a stream; one with a stream whose body never ends; one idle after a request.
    const silentH2 = http2Connect(server.httpUrl);
    const silentH2Closed = sessionClosed(silentH2);
    const slowBodyH2 = http2Connect(server.httpUrl);
    const slowBodyH2Closed = sessionClosed(slowBodyH2);
    const slowStream = slowBodyH2.request({ ":method": "POST", ":path": "/oauth2/token", "content-type": "application/x-www-form-urlencoded" });
    slowStream.on("error", () => {});
    slowStream.write("grant_type=");
    const slowStreamClosed = new Promise<void>((resolve) => slowStream.once("close", () => resolve()));
    const idleH2 = http2Connect(server.httpUrl);
    const idleH2Closed = sessionClosed(idleH2);
    const first = idleH2.request({ ":path": "/healthz" });
    first.resume();
    await new Promise((resolve) => first.once("end", resolve));

    // Meanwhile a healthy client is served.
    assert.equal(await healthz(server), 200);

    const received = await Promise.all(slow.map((c) => c.closed));
    await Promise.all([silentH2Closed, slowStreamClosed, slowBodyH2Closed, idleH2Closed]);
    assert.match(received[5]!, /^HTTP\/1\.1 408 /, "a body that does not arrive gets 408");
    assert.match(received[6]!, /^HTTP\/1\.1 200 /, "the keep-alive connection was answered before it was closed idle");
    assert.match(received[7]!, /^HTTP\/1\.1 431 /, "a request head over maxHeaderBytes is refused");
    assert.equal(slowStream.rstCode, 8, "the stream whose body did not arrive is cancelled (RST_STREAM CANCEL)");
    assert.equal(await healthz(server), 200);
  });

  test("gRPC listener: silent, one-byte, partial-preface, no-call, partial-body and idle connections", async () => {
    const port = grpcPortOf(server);
    const slow = await Promise.all([
      rawConnection(port),
      rawConnection(port, "P"),
      rawConnection(port, "PRI * HTTP/2.0\r\n\r\nSM"),
      rawConnection(port, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), // the preface and no SETTINGS
    ]);
    const silentH2 = http2Connect(`http://${server.grpcAddress}`);
    const silentH2Closed = sessionClosed(silentH2);
    // A call whose request message never arrives completely: 5-byte frame header announcing 100 bytes, then 2.
    const slowBodyH2 = http2Connect(`http://${server.grpcAddress}`);
    const slowBodyH2Closed = sessionClosed(slowBodyH2);
    const call = slowBodyH2.request({ ":method": "POST", ":path": "/tessera.v1.TokenService/GetJwks", "content-type": "application/grpc", te: "trailers" });
    call.on("error", () => {});
    let grpcStatus: string | undefined;
    call.on("response", (headers) => (grpcStatus ??= headers["grpc-status"] as string | undefined));
    call.on("trailers", (trailers) => (grpcStatus ??= trailers["grpc-status"] as string | undefined));
    call.resume();
    call.write(Buffer.from([0, 0, 0, 0, 100, 1, 2]));
    const callClosed = new Promise<void>((resolve) => call.once("close", () => resolve()));
    // A client that made one call and then stays idle.
    const idle = grpcJsClient(TokenService, server.grpcAddress);
    await idle.unary("getJwks", {});

    assert.equal(await grpcHealthy(server), 1 /* SERVING */);

    await Promise.all([...slow.map((c) => c.closed), silentH2Closed, callClosed, slowBodyH2Closed]);
    // DEADLINE_EXCEEDED is written before the reset, which may overtake it.
    assert.ok(grpcStatus === undefined || grpcStatus === "4", `the call whose request did not arrive ends with DEADLINE_EXCEEDED, not ${grpcStatus}`);
    // grpc-js closed the idle connection: the channel is IDLE again (not READY).
    const channel = idle.raw.getChannel();
    await new Promise<void>((resolve) => {
      const check = () => {
        const state = channel.getConnectivityState(false);
        if (state !== 2 /* READY */) return resolve();
        channel.watchConnectivityState(state, Date.now() + 5000, check);
      };
      check();
    });
    idle.close();
    assert.equal(await grpcHealthy(server), 1);
  });
});

describe("the connection cap", () => {
  const cap = 4;
  let server: TesseraServer;
  before(async () => {
    // Long timeouts: here only the cap closes connections.
    server = await start({ ...SHORT, maxConnections: cap, headersTimeoutMs: 20_000, requestTimeoutMs: 20_000, idleTimeoutMs: 20_000 });
  });
  after(() => server?.stop());

  for (const listener of ["http", "grpc"] as const) {
    test(`${listener}: connections past maxConnections are closed on accept; freed slots serve again`, async () => {
      const port = listener === "http" ? portOf(server.httpUrl) : grpcPortOf(server);
      const held: { socket: Socket; closed: Promise<string> }[] = [];
      for (let i = 0; i < cap; i++) held.push(await rawConnection(port));
      const extra = await Promise.all([rawConnection(port), rawConnection(port), rawConnection(port)]);
      await Promise.all(extra.map((c) => c.closed));
      assert.ok(
        held.every((c) => !c.socket.destroyed && c.socket.readyState === "open"),
        "the first connections stay open",
      );
      for (const c of held) c.socket.destroy();
      await Promise.all(held.map((c) => c.closed));
      // The server may see a new connection before the closes that free the slots: a few tries, each to its answer.
      let served = false;
      for (let attempt = 0; attempt < 10 && !served; attempt++) {
        served = await (listener === "http" ? healthz(server).then((s) => s === 200) : grpcHealthy(server).then((s) => s === 1)).catch(() => false);
      }
      assert.ok(served, "a healthy client is served once slots are free");
    });
  }
});
