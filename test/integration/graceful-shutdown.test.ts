// Graceful shutdown: not ready at once, still serving through the drain,
// in-flight requests finish after the listeners close, and load driven
// through a shutdown sees no failure. SIGHUP is logged and ignored.
import assert from "node:assert/strict";
import { EventEmitter, once } from "node:events";
import { connect as http2Connect } from "node:http2";
import { connect as netConnect, type Socket } from "node:net";
import { describe, test } from "node:test";
import type { TesseraServer } from "../../src/server/tessera-server.js";
import { startCapturedServer } from "../helpers/start-server.js";
import { jsonLogLines, spawnTessera } from "../helpers/child-process.js";
import { basicAuthorization, fixtureConfig, SECRETS } from "../helpers/fixtures.js";
import { connectApi, grpcJsApi, type TokenServiceApi } from "../helpers/token-service-clients.js";

const AUDIENCE = "https://calendar.example.com";
const AUTHORIZATION = basicAuthorization("billing", SECRETS.basic);
const TOKEN_FORM = `grant_type=client_credentials&resource=${encodeURIComponent(AUDIENCE)}&scope=event.view`;

async function start(): Promise<TesseraServer> {
  const { config } = await fixtureConfig();
  return startCapturedServer({ config });
}

/** Resolves once a new TCP connection to `port` is refused: the listener has stopped accepting. Bounded in tries. */
async function refused(port: number): Promise<void> {
  for (let attempt = 0; attempt < 2000; attempt++) {
    const outcome = await new Promise<"refused" | "accepted">((resolve) => {
      const socket = netConnect({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.destroy();
        resolve("accepted");
      });
      socket.once("error", () => resolve("refused"));
    });
    if (outcome === "refused") return;
  }
  throw new Error(`port ${port} still accepts connections`);
}

function portOf(address: string): number {
  return Number(address.split(":").pop());
}

async function readyz(server: TesseraServer): Promise<number> {
  const res = await fetch(`${server.httpUrl}/readyz`);
  await res.arrayBuffer();
  return res.status;
}

/** The raw answer to an HTTP/1.1 request written on `socket`, read to the close. */
function answer(socket: Socket): Promise<string> {
  let received = "";
  socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.once("close", () => resolve(received));
  });
}

describe("graceful shutdown", () => {
  test("requests in flight on both listeners finish after the listeners stop accepting", async () => {
    const server = await start();
    const httpPort = Number(new URL(server.httpUrl).port);

    // HTTP/1.1: a token request whose body has only half arrived.
    const socket = netConnect({ host: "127.0.0.1", port: httpPort });
    await new Promise((resolve) => socket.once("connect", resolve));
    const http1Answer = answer(socket);
    socket.write(
      `POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${AUTHORIZATION}\r\n` +
        `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${TOKEN_FORM.length}\r\n\r\n${TOKEN_FORM.slice(0, 10)}`,
    );

    // gRPC: a GetJwks call whose (empty) request message has not ended yet.
    const session = http2Connect(`http://${server.grpcAddress}`);
    session.on("error", () => {});
    await once(session, "connect");
    const call = session.request({ ":method": "POST", ":path": "/tessera.v1.TokenService/GetJwks", "content-type": "application/grpc", te: "trailers" });
    let grpcStatus: string | undefined;
    call.on("response", (headers) => (grpcStatus ??= headers["grpc-status"] as string | undefined));
    call.on("trailers", (trailers) => (grpcStatus ??= trailers["grpc-status"] as string | undefined));
    const grpcBody: Buffer[] = [];
    call.on("data", (chunk: Buffer) => grpcBody.push(chunk));
    const callEnded = new Promise<void>((resolve, reject) => {
      call.once("close", () => resolve());
      call.once("error", reject);
    });
    call.write(Buffer.from([0, 0, 0]));
    // The PING is answered after the frames before it: the server has the call.
    await new Promise<void>((resolve, reject) => session.ping((err) => (err ? reject(err) : resolve())));

    const stopped = server.stop({ drainMs: 100, graceMs: 10_000 });
    await Promise.all([refused(httpPort), refused(portOf(server.grpcAddress))]);

    socket.write(TOKEN_FORM.slice(10));
    call.end(Buffer.from([0, 0]));
    const raw = await http1Answer;
    assert.match(raw, /^HTTP\/1\.1 200 /, raw.slice(0, 200));
    assert.match(raw, /\r\nconnection: close\r\n/i, "the answer during shutdown closes the connection");
    assert.match(raw, /"access_token":"/);
    await callEnded;
    assert.equal(grpcStatus, "0");
    assert.ok(Buffer.concat(grpcBody).length > 5, "the JWKS arrived");
    session.close();
    await stopped;
  });

  test("streams that do not end are closed when the grace is over", async () => {
    const server = await start();
    const watches = [`http://${server.grpcAddress}`, server.httpUrl].map(async (url) => {
      const session = http2Connect(url);
      session.on("error", () => {});
      const watch = session.request({ ":method": "POST", ":path": "/grpc.health.v1.Health/Watch", "content-type": "application/grpc", te: "trailers" });
      watch.on("error", () => {});
      const closed = new Promise<void>((resolve) => watch.once("close", () => resolve()));
      watch.end(Buffer.from([0, 0, 0, 0, 0]));
      // The first message (SERVING) has arrived: the stream is open on the server.
      await once(watch, "data");
      return { session, closed };
    });
    const open = await Promise.all(watches);
    await server.stop({ graceMs: 200 });
    await Promise.all(open.map((w) => w.closed));
    for (const w of open) w.session.destroy();
  });

  test("load through a shutdown: not ready at once, served through the drain, zero failures", async () => {
    const server = await start();
    const apis: TokenServiceApi[] = [grpcJsApi(server.grpcAddress), connectApi(server.httpUrl, "connect-h2"), connectApi(server.httpUrl, "connect-h1")];
    const counts = { ok: 0, failed: 0, afterNotReady: 0 };
    const failures: string[] = [];
    // The load balancer: routes to the server until it sees it not ready.
    let routing = true;
    let notReadySeen = false;
    const progress = new EventEmitter();

    const oauthRequest = async () => {
      const res = await fetch(`${server.httpUrl}/oauth2/token`, {
        method: "POST",
        headers: { authorization: AUTHORIZATION, "content-type": "application/x-www-form-urlencoded" },
        body: TOKEN_FORM,
      });
      const body = (await res.json()) as { access_token?: string };
      if (res.status !== 200 || body.access_token === undefined) throw new Error(`HTTP ${res.status}`);
    };
    const calls: [string, () => Promise<unknown>][] = [
      ["fetch /oauth2/token", oauthRequest],
      ["fetch /oauth2/token", oauthRequest],
      ...apis.map((api): [string, () => Promise<unknown>] => [api.name, () => api.issueToken({ audience: AUDIENCE, scopes: ["event.view"] }, AUTHORIZATION)]),
    ];
    const worker = async ([name, call]: [string, () => Promise<unknown>]) => {
      for (let i = 0; i < 5000 && routing; i++) {
        const startedNotReady = notReadySeen;
        try {
          await call();
          counts.ok++;
          if (startedNotReady) counts.afterNotReady++;
        } catch (err) {
          counts.failed++;
          failures.push(`${name}: ${String(err)}`);
        }
        progress.emit("call");
      }
    };
    const loadBalancer = async () => {
      for (let i = 0; i < 20_000; i++) {
        if ((await readyz(server)) === 503) {
          notReadySeen = true;
          break;
        }
      }
    };

    const workers = calls.map(worker);
    const allDone = Promise.all(workers);
    const nextCall = () => Promise.race([once(progress, "call"), allDone]);
    // Some load before the shutdown begins.
    while (counts.ok < 50 && counts.failed === 0) await nextCall();
    // The drain outlasts the time the load balancer takes to move the workers, even on a busy machine.
    const stopped = server.stop({ drainMs: 3000, graceMs: 10_000 });
    await loadBalancer();
    // Still served while draining: what the workers send until the load balancer has moved them.
    const readyAtStop = counts.ok;
    while (counts.afterNotReady < calls.length && counts.failed === 0) await nextCall();
    routing = false;
    await Promise.all(workers);
    await stopped;
    await Promise.all(apis.map((api) => api.close()));

    assert.deepEqual(failures, []);
    assert.equal(counts.failed, 0);
    assert.ok(notReadySeen, "/readyz turned 503");
    assert.ok(counts.ok > readyAtStop, "requests were served during the drain");
  });
});

describe("signals", () => {
  test("tessera serve logs and ignores SIGHUP, and drains on SIGTERM", async () => {
    const child = spawnTessera(["serve"], { TESSERA_HTTP_PORT: "0", TESSERA_GRPC_PORT: "0" });
    try {
      const [, httpUrl] = (await child.waitFor("stdout", /demo client: .* http=(\S+) grpc=/)) as unknown as string[];
      assert.ok(child.child.kill("SIGHUP"));
      await child.waitFor("stderr", /"SIGHUP ignored/);
      const res = await fetch(`${httpUrl}/healthz`);
      assert.equal(res.status, 200, "still serving after SIGHUP");
      await res.arrayBuffer();
      assert.ok(child.child.kill("SIGTERM"));
      const { code, signal } = await child.exited(10_000);
      assert.equal(signal, null);
      assert.equal(code, 0);
      const lines = jsonLogLines(child.stderr());
      assert.ok(lines.some((l) => l.msg === "tessera stopping" && l.signal === "SIGTERM"));
      assert.ok(lines.some((l) => l.msg === "tessera stopped"));
    } finally {
      child.kill();
    }
  });
});
