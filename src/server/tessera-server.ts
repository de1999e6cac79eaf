import { readFileSync } from "node:fs";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Server as GrpcServer, ServerCredentials } from "@grpc/grpc-js";
import { TokenService } from "../../gen/tessera/v1/token_service_pb.js";
import type { TesseraConfig } from "../config/types.js";
import { systemClock, type Clock } from "../internal/clock.js";
import { silentLogger, type Logger } from "../internal/logger.js";
import type { IssuerContext } from "../issuer/issuer-context.js";
import { MemoryKeyStore, type KeyStore } from "../keys/key-store.js";
import { generateSigningKey, loadSigningKeyFile } from "../keys/signing-key.js";
import { authRulesOf } from "../policy/read-auth-rules.js";
import { StaticClientRegistry } from "../registry/client-registry.js";
import { configuredTrustedIssuers } from "../registry/configured-trusted-issuers.js";
import { httpJwksFetcher } from "../keys/http-jwks-fetcher.js";
import { RemoteKeySet } from "../keys/remote-key-set.js";
import type { RedisClient } from "../store/redis/redis-client.js";
import type { AuthThrottle, DenyList, IntrospectionCache, ReplayGuard, RevocationFeed } from "../store/types.js";
import { connectContextValues, connectRoutes } from "./connect-routes.js";
import { addGrpcRoutes } from "./grpc-routes.js";
import { HealthState, ServingStatus } from "./health.js";
import { createHttpListener, type HttpHandler } from "./http-listener.js";
import { httpRoutes } from "./http-routes.js";
import { openSharedState } from "./shared-state.js";
import { tokenServiceHandlers } from "./token-service-handlers.js";

/** Options of createTesseraServer. Every dependency has an embedded default. */
export interface TesseraServerOptions {
  config: TesseraConfig;
  /** Signing keys. Default: signing.keyFile, or a key generated at start. */
  keys?: KeyStore;
  /**
   * An ioredis client (Redis or Cluster) for the shared state, instead of
   * config.redis (whose keyPrefix and timeouts still apply). Tessera uses it
   * and never closes it. Create it with fastFailOptions() (src/store/redis,
   * exported by tessera/server) so that requests fail fast while Redis is
   * unreachable.
   */
  redis?: RedisClient;
  /** Single-use records. Default: Redis when configured, else this process's memory. */
  replay?: ReplayGuard;
  /** Revocations. Default: Redis when configured, else this process's memory. */
  denyList?: DenyList;
  /** Introspection cache, bound to `denyList`. Default: beside the deny-list (none when only denyList is given). */
  introspectionCache?: IntrospectionCache;
  /** Failed-authentication throttling. Default: Redis when configured, else this process's memory. */
  authThrottle?: AuthThrottle;
  clock?: Clock;
  logger?: Logger;
}

/** A running Tessera: where it listens, and how to stop it. */
export interface TesseraServer {
  /** Base URL of the HTTP listener (Connect, gRPC-Web, OAuth endpoints). */
  readonly httpUrl: string;
  /** host:port of the grpc-js listener. */
  readonly grpcAddress: string;
  readonly issuer: string;
  /** The issuer's dependencies, for embedding and tests. */
  readonly context: IssuerContext;
  /** The revocations this server records, as a feed (e.g. for interceptors in the same process). */
  readonly revocations: RevocationFeed | undefined;
  stop(): Promise<void>;
}

/** Requests larger than this are refused on every surface. */
export const MAX_REQUEST_BYTES = 64 * 1024;

async function defaultKeyStore(config: TesseraConfig): Promise<KeyStore> {
  const { algorithm, keyFile } = config.signing;
  const key = keyFile ? await loadSigningKeyFile(keyFile, algorithm) : await generateSigningKey(algorithm);
  return MemoryKeyStore.single(key);
}

function bindGrpc(server: GrpcServer, address: string, credentials: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port))));
}

function shutdownGrpc(server: GrpcServer, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * The composition root: wires configuration, keys, registry, stores and the
 * issuer, and serves them on the HTTP listener (Connect, gRPC-Web, gRPC over
 * h2c, health) and the grpc-js listener (gRPC, health).
 */
export async function createTesseraServer(options: TesseraServerOptions): Promise<TesseraServer> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  authRulesOf(TokenService);
  const keys = options.keys ?? (await defaultKeyStore(config));

  // Listen first: with port 0 and no configured issuer, the issuer is the URL actually bound.
  let serveHttp: HttpHandler = (_req, res) => {
    res.writeHead(503);
    res.end();
  };
  const http = createHttpListener((req, res) => serveHttp(req, res), config.http.tls);
  const grpc = new GrpcServer({ "grpc.max_receive_message_length": MAX_REQUEST_BYTES });
  const grpcCredentials = config.grpc.tls
    ? ServerCredentials.createSsl(null, [
        { cert_chain: readFileSync(config.grpc.tls.certFile), private_key: readFileSync(config.grpc.tls.keyFile) },
      ])
    : ServerCredentials.createInsecure();
  let httpAddress: Awaited<ReturnType<typeof http.listen>>;
  try {
    httpAddress = await http.listen(config.http.host, config.http.port);
  } catch (err) {
    await http.close();
    throw err;
  }
  const httpHost = httpAddress.family === "IPv6" ? `[${httpAddress.address}]` : httpAddress.address;
  const httpUrl = `${config.http.tls ? "https" : "http"}://${httpHost}:${httpAddress.port}`;
  const issuer = config.issuerFromListener ? httpUrl : config.issuer;

  const state = openSharedState(config, options, clock, logger);
  const context: IssuerContext = {
    issuer,
    tokens: config.tokens,
    clients: new StaticClientRegistry(config.clients),
    trustedIssuers: configuredTrustedIssuers(config.trustedIssuers, (uri) => new RemoteKeySet({ fetch: httpJwksFetcher(uri), clock })),
    keys,
    replay: state.replay,
    denyList: state.denyList,
    introspectionCache: state.introspectionCache,
    authThrottle: state.authThrottle,
    clock,
  };
  const handlers = tokenServiceHandlers(context);
  const health = new HealthState();
  serveHttp = connectNodeAdapter({
    routes: connectRoutes(handlers, health),
    readMaxBytes: MAX_REQUEST_BYTES,
    contextValues: connectContextValues,
    fallback: httpRoutes({ ctx: context, config, health }),
  });
  addGrpcRoutes(grpc, handlers, health);

  let grpcPort: number;
  try {
    grpcPort = await bindGrpc(grpc, `${config.grpc.host}:${config.grpc.port}`, grpcCredentials);
  } catch (err) {
    grpc.forceShutdown();
    await Promise.all([http.close(), state.close()]);
    throw err;
  }

  // Ready while the shared state answers: Redis down means NOT_SERVING (and /readyz 503) until it is back.
  const setServing = (serving: boolean) => {
    const status = serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    health.set("", status);
    health.set(TokenService.typeName, status);
  };
  const redisHealth = state.redisHealth;
  let stopFollowingRedis = () => {};
  if (redisHealth === undefined) {
    setServing(true);
  } else {
    stopFollowingRedis = redisHealth.onChange(setServing);
    setServing(await redisHealth.waitUntilUp(2000));
    if (!redisHealth.up) logger.warn("redis unavailable at start: not ready until it answers");
  }
  const grpcHost = config.grpc.host.includes(":") ? `[${config.grpc.host}]` : config.grpc.host;
  const grpcAddress = `${grpcHost}:${grpcPort}`;
  logger.info("tessera listening", { http: httpUrl, grpc: grpcAddress, issuer });

  let stopping: Promise<void> | undefined;
  return {
    httpUrl,
    grpcAddress,
    issuer,
    context,
    revocations: state.revocations,
    stop: () => {
      stopping ??= (async () => {
        stopFollowingRedis();
        setServing(false);
        await Promise.all([shutdownGrpc(grpc, 2000), http.close()]);
        await state.close();
        logger.info("tessera stopped");
      })();
      return stopping;
    },
  };
}
