// The echo service in its own process, on grpc-js and on Connect (node:http2,
// cleartext HTTP/2), either without auth or protected by Tessera's server
// interceptors (authServerInterceptor / protect) with a verifier that has the
// issuer's JWKS (remoteVerifier: fetched once over HTTP, then cached).
//   BENCH_ECHO_AUTH=1        protect it (else no interceptor at all)
//   BENCH_ECHO_AUTH=passthrough   one interceptor that does nothing: what the
//                            framework charges for running an interceptor at all
//   BENCH_ECHO_SIGN=1        the IssueToken floor: no interceptor; Echo checks
//                            the Basic credentials of its metadata and answers
//                            an ES256 at+jwt signed synchronously (node:crypto)
//   BENCH_ISSUER, BENCH_JWKS_URL   the issuer whose tokens it accepts
//   BENCH_ECHO_DESCRIPTORS   the compiled bench/echo descriptor set
import { randomBytes } from "node:crypto";
import { createServer } from "node:http2";
import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, Interceptor as ConnectInterceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Server, ServerCredentials, ServerInterceptingCall, type ServerInterceptor } from "@grpc/grpc-js";
import { protect } from "../../src/connect.js";
import { authServerInterceptor, bridgeService } from "../../src/grpc.js";
import { remoteVerifier } from "../../src/remote/remote-verifier.js";
import { BENCH_AUDIENCE, floorBasicClient } from "../lib/bench-clients.js";
import { loadEchoService } from "../lib/echo-service.js";
import { announce, serveUntilTerminated } from "../lib/processes.js";
import { syncEs256Signer } from "../lib/sync-signer.js";

const service: DescService = loadEchoService();
const auth = process.env.BENCH_ECHO_AUTH === "1";
const passthrough = process.env.BENCH_ECHO_AUTH === "passthrough";
const verifier = auth ? remoteVerifier({ issuer: process.env.BENCH_ISSUER!, jwksUrl: process.env.BENCH_JWKS_URL! }) : undefined;
await verifier?.start();

const signer = process.env.BENCH_ECHO_SIGN === "1" ? syncEs256Signer("floor-grpc-es256") : undefined;
const issuer = "http://127.0.0.1/floor-grpc";

/** Echo; as the IssueToken floor, a token for the caller instead (grpc-js only: Connect's handler context differs). */
const echo = async (req: { text: string }, call?: { metadata?: { get(key: string): unknown[] } }) => {
  if (signer === undefined) return { text: req.text };
  const client = floorBasicClient(call?.metadata?.get("authorization")[0] as string | undefined);
  if (client === undefined) throw new Error("invalid_client");
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    client_id: client,
    scope: "bench.read",
    iss: issuer,
    sub: client,
    aud: BENCH_AUDIENCE,
    iat: now,
    nbf: now,
    exp: now + 300,
    jti: randomBytes(16).toString("base64url"),
  };
  return { text: signer.sign(claims) };
};

// grpc-js
const passthroughInterceptor: ServerInterceptor = (_method, call) => new ServerInterceptingCall(call);
const grpcInterceptors =
  verifier !== undefined ? [authServerInterceptor({ verifier, services: [service] })] : passthrough ? [passthroughInterceptor] : undefined;
const grpc = new Server(grpcInterceptors !== undefined ? { interceptors: grpcInterceptors } : {});
const { definition, implementation } = bridgeService(service, { echo } as never);
grpc.addService(definition, implementation);
const grpcPort = await new Promise<number>((resolve, reject) =>
  grpc.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
);

// Connect (Connect, gRPC and gRPC-Web protocols) on cleartext HTTP/2
const register = (router: ConnectRouter) => router.service(service, { echo } as never);
const connectInterceptors: ConnectInterceptor[] = passthrough ? [(next) => (req) => next(req)] : [];
const h2 = createServer(connectNodeAdapter({ routes: verifier !== undefined ? protect(verifier, register) : register, interceptors: connectInterceptors }));
h2.on("connection", (socket: import("node:net").Socket) => socket.setNoDelay(true));
await new Promise<void>((resolve) => h2.listen(0, "127.0.0.1", resolve));
const connectPort = (h2.address() as { port: number }).port;

announce({ grpc: `127.0.0.1:${grpcPort}`, connect: `http://127.0.0.1:${connectPort}`, auth });
serveUntilTerminated(async () => {
  verifier?.stop();
  grpc.forceShutdown();
  await new Promise<void>((resolve) => h2.close(() => resolve()));
});
