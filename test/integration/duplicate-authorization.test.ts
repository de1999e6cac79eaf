// Two credentials where one is expected: two `authorization` headers (HTTP/1.1,
// h2c, gRPC over HTTP/2), or one value that joins two, sent by real clients
// at real servers. The resource server refuses with invalid_request
// (INVALID_ARGUMENT) and never picks one. Both tokens are valid on their own.
import assert from "node:assert/strict";
import { connect as tcpConnect } from "node:net";
import { after, before, describe, test } from "node:test";
import { Metadata, Server, ServerCredentials, status } from "@grpc/grpc-js";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { CalendarService } from "../../examples/gen/example/calendar/v1/calendar_pb.js";
import { calendarConnect, calendarGrpc, calendarStore } from "../../examples/mesh/calendar-service.js";
import { authContextValues, protect } from "../../src/interceptors/connect/server.js";
import { refuseRepeatedAuthorization } from "../../src/interceptors/grpc/repeated-authorization.js";
import { authServerInterceptor } from "../../src/interceptors/grpc/server.js";
import { bridgeService } from "../../src/interceptors/grpc/bridge-service.js";
import { remoteVerifier } from "../../src/remote/remote-verifier.js";
import { createHttpListener, type HttpListener } from "../../src/server/http-listener.js";
import { CALENDAR, rawToken, startMeshTessera, type MeshTessera } from "../helpers/mesh.js";
import { grpcJsClient } from "../helpers/grpc-client.js";
import { h2cExchange } from "../helpers/raw-h2.js";

const LIST_EVENTS = `/${CalendarService.typeName}/ListEvents`;

let tessera: MeshTessera;
let http: HttpListener;
let connectOrigin = "";
let grpc: Server;
let grpcOrigin = "";
let tokenA = "";
let tokenB = "";

before(async () => {
  tessera = await startMeshTessera();
  const verifier = remoteVerifier({ issuer: tessera.server.issuer });
  const store = calendarStore();
  http = createHttpListener(
    connectNodeAdapter({
      routes: protect(verifier, (router) => router.service(CalendarService, calendarConnect(store))),
      contextValues: (req) => authContextValues(req),
    }),
  );
  connectOrigin = `http://127.0.0.1:${(await http.listen("127.0.0.1", 0)).port}`;
  grpc = new Server({ interceptors: [authServerInterceptor({ verifier, services: [CalendarService] })] });
  const { definition, implementation } = bridgeService(CalendarService, calendarGrpc(store));
  grpc.addService(definition, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    grpc.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  refuseRepeatedAuthorization(grpc);
  grpcOrigin = `http://127.0.0.1:${port}`;
  tokenA = await rawToken(tessera.server, "tasks", CALENDAR, ["event.view"]);
  tokenB = await rawToken(tessera.server, "tasks", CALENDAR, ["event.view", "event.create"]);
  assert.notEqual(tokenA, tokenB);
});
after(async () => {
  grpc.forceShutdown();
  await http.close();
  await tessera.server.stop();
});

/** One HTTP/1.1 Connect unary call written byte for byte, with the given header lines. */
function http1Call(headerLines: readonly string[]): Promise<{ status: number; body: string }> {
  const { port } = new URL(connectOrigin);
  const body = "{}";
  const request = [
    `POST ${LIST_EVENTS} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    "Content-Type: application/json",
    `Content-Length: ${body.length}`,
    "Connection: close",
    ...headerLines,
    "",
    body,
  ].join("\r\n");
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(Number(port), "127.0.0.1", () => socket.write(request));
    let raw = "";
    socket.setEncoding("utf8");
    socket.setTimeout(10_000, () => socket.destroy(new Error("no answer")));
    socket.on("data", (chunk: string) => (raw += chunk));
    socket.on("error", reject);
    socket.on("close", () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]);
      resolve({ status, body: raw.slice(raw.indexOf("\r\n\r\n") + 4) });
    });
  });
}

function connectH2(authorizations: readonly string[]) {
  const { host } = new URL(connectOrigin);
  const headers: [string, string][] = [
    [":method", "POST"],
    [":scheme", "http"],
    [":authority", host],
    [":path", LIST_EVENTS],
    ["content-type", "application/json"],
    ...authorizations.map((a): [string, string] => ["authorization", a]),
  ];
  return h2cExchange(connectOrigin, headers, Buffer.from("{}"));
}

function grpcH2(authorizations: readonly string[]) {
  const { host } = new URL(grpcOrigin);
  const headers: [string, string][] = [
    [":method", "POST"],
    [":scheme", "http"],
    [":authority", host],
    [":path", LIST_EVENTS],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
    ...authorizations.map((a): [string, string] => ["authorization", a]),
  ];
  return h2cExchange(grpcOrigin, headers, Buffer.alloc(5)); // one empty, uncompressed ListEventsRequest
}

describe("two authorization headers at a protected service: invalid_request, never one picked", () => {
  test("Connect over HTTP/1.1: two headers, and one header joining two", async () => {
    const one = await http1Call([`Authorization: Bearer ${tokenA}`]);
    assert.equal(one.status, 200, one.body);
    for (const lines of [
      [`Authorization: Bearer ${tokenA}`, `Authorization: Bearer ${tokenB}`],
      [`Authorization: Bearer ${tokenA}`, `authorization: Bearer ${tokenA}`],
      [`Authorization: Bearer ${tokenA}, Bearer ${tokenB}`],
    ]) {
      const answer = await http1Call(lines);
      assert.equal(answer.status, 400, answer.body);
      assert.equal((JSON.parse(answer.body) as { code: string }).code, "invalid_argument");
      assert.match(answer.body, /more than one authorization header/);
    }
  });

  test("Connect: a header plus access_token in the query → invalid_request", async () => {
    const { port } = new URL(connectOrigin);
    for (const [method, path] of [["POST", `${LIST_EVENTS}?access_token=${tokenB}`]] as const) {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const body = method === "POST" ? "{}" : "";
        const socket = tcpConnect(Number(port), "127.0.0.1", () =>
          socket.write(
            [
              `${method} ${path} HTTP/1.1`,
              `Host: 127.0.0.1:${port}`,
              "Content-Type: application/json",
              `Content-Length: ${body.length}`,
              "Connection: close",
              `Authorization: Bearer ${tokenA}`,
              "",
              body,
            ].join("\r\n"),
          ),
        );
        let raw = "";
        socket.setEncoding("utf8");
        socket.on("data", (chunk: string) => (raw += chunk));
        socket.on("error", reject);
        socket.on("close", () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]), body: raw.slice(raw.indexOf("\r\n\r\n") + 4) }));
      });
      assert.equal(answer.status, 400, `${method}: ${answer.body}`);
      assert.match(answer.body, /invalid_argument.*not in the query/);
    }
  });

  test("Connect over h2c: two header fields in one HEADERS frame", async () => {
    const one = await connectH2([`Bearer ${tokenA}`]);
    assert.equal(one.status, 200, one.body.toString());
    const two = await connectH2([`Bearer ${tokenA}`, `Bearer ${tokenB}`]);
    assert.equal(two.status, 400, two.body.toString());
    assert.equal((JSON.parse(two.body.toString()) as { code: string }).code, "invalid_argument");
  });

  test("gRPC over HTTP/2 to grpc-js: two header fields → INVALID_ARGUMENT", async () => {
    const one = await grpcH2([`Bearer ${tokenA}`]);
    assert.equal(one.headers["grpc-status"], String(status.OK));
    const two = await grpcH2([`Bearer ${tokenA}`, `Bearer ${tokenB}`]);
    assert.equal(two.headers["grpc-status"], String(status.INVALID_ARGUMENT), JSON.stringify(two.headers));
    assert.match(decodeURIComponent(String(two.headers["grpc-message"])), /more than one authorization header/);
  });

  test("grpc-js client: metadata with two authorization entries, or one joining two, is never admitted", async () => {
    const client = grpcJsClient(CalendarService, grpcOrigin.replace("http://", ""));
    try {
      const call = (metadata: Metadata) =>
        new Promise<number>((resolve) => {
          const fn = (client.raw as unknown as Record<string, Function>).ListEvents!;
          fn.call(client.raw, {}, metadata, { deadline: Date.now() + 10_000 }, (err: { code: number } | null) => resolve(err === null ? status.OK : err.code));
        });
      const one = new Metadata();
      one.set("authorization", `Bearer ${tokenA}`);
      assert.equal(await call(one), status.OK);
      const joined = new Metadata();
      joined.set("authorization", `Bearer ${tokenA}, Bearer ${tokenB}`);
      assert.equal(await call(joined), status.INVALID_ARGUMENT);
      const two = new Metadata();
      two.add("authorization", `Bearer ${tokenA}`);
      two.add("authorization", `Bearer ${tokenB}`);
      assert.notEqual(await call(two), status.OK, "two entries: refused (by Node's HTTP/2 client, or by the server)");
    } finally {
      client.close();
    }
  });
});
