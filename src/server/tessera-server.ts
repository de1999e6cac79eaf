import { randomBytes } from "node:crypto";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { TokenService } from "../../gen/tessera/v1/token_service_pb.js";
import type { TesseraConfig, TrustedIssuerConfig } from "../config/types.js";
import { systemClock, type Clock } from "../internal/clock.js";
import { silentLogger, type Logger } from "../internal/logger.js";
import { ClientAddressResolver } from "../internal/source-address.js";
import { CLOCK_SKEW_SECONDS, type IssuerContext } from "../issuer/issuer-context.js";
import { KeyManager } from "../keys/key-manager.js";
import type { KeyRing } from "../keys/key-ring.js";
import { MemoryKeyRing } from "../store/memory/key-ring.js";
import { KeyEncryptionError, kekFromEnv, type KeyEncryptionKey } from "../keys/key-sealing.js";
import { MemoryKeyStore, type KeyStore } from "../keys/key-store.js";
import { loadSigningKeyFile } from "../keys/signing-key.js";
import { keyRevocationJti } from "../verifier/key-revocation.js";
import { RedisKeyRing } from "../store/redis/key-ring.js";
import { loadDeclaredScopes } from "../policy/declared-scopes.js";
import { authRulesOf } from "../policy/read-auth-rules.js";
import { configuredTrustedIssuers } from "../registry/configured-trusted-issuers.js";
import type { StaticTrustedIssuers } from "../registry/trusted-issuers.js";
import { httpJwksFetcher } from "../keys/http-jwks-fetcher.js";
import { RemoteKeySet } from "../keys/remote-key-set.js";
import type { RedisClient } from "../store/redis/redis-client.js";
import type { AuthThrottle, DenyList, IntrospectionCache, RateLimiter, ReplayGuard, RevocationFeed } from "../store/types.js";
import { connectContextValues, connectRoutes } from "./connect-routes.js";
import { refuseRepeatedAuthorization } from "../interceptors/grpc/repeated-authorization.js";
import { createGrpcListener } from "./grpc-listener.js";
import { addGrpcRoutes } from "./grpc-routes.js";
import { ClientAdminService } from "../../gen/tessera/admin/v1/client_admin_service_pb.js";
import { HealthState, ServingStatus } from "./health.js";
import { createHttpListener, type HttpHandler } from "./http-listener.js";
import { httpRoutes } from "./http-routes.js";
import { followReadiness, sharedStateReadiness } from "./readiness.js";
import { openSharedState, type SharedState } from "./shared-state.js";
import { RevocationFanout } from "./revocation-fanout.js";
import { tokenServiceHandlers } from "./token-service-handlers.js";
import { authContextValues } from "../interceptors/connect/server.js";
import { GrpcClientAdminGate } from "./client-admin-routes.js";
import { startClientAdmin, type ClientAdminServer } from "./client-admin-server.js";
import { openClientRegistry } from "./client-registry-state.js";
import { followConfigFingerprint } from "./config-fingerprint.js";
import { watchHandlers } from "./watch-handlers.js";
import { timedHandlers } from "./observability/instrument.js";
import { serverObservability } from "./observability/server-observability.js";
import type { ServiceEvents } from "../internal/service-events.js";

/** Options of createTesseraServer. Every dependency has an embedded default. */
export interface TesseraServerOptions {
  config: TesseraConfig;
  /** Signing keys. Default: signing.keyFile, else keys managed by a KeyManager (in Redis with the shared state). */
  keys?: KeyStore;
  /** The key-encryption key of managed keys. Default: TESSERA_KEK / TESSERA_KEK_FILE. */
  kek?: KeyEncryptionKey;
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
  /** Per-client request rates (introspection, revocation). Default: Redis when configured, else this process's memory. */
  rateLimiter?: RateLimiter;
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
  /** The managed signing keys (rotate, revoke), unless keys were given or come from a file. */
  readonly keyManager: KeyManager | undefined;
  /** host:port of the metrics listener (GET /metrics), when it serves (config.metrics). */
  readonly metricsAddress: string | undefined;
  /**
   * Applies a new configuration's clients (their grants and lifetimes),
   * token lifetimes and trusted issuers at once, without a restart (`tessera serve` calls it on
   * SIGHUP). Other settings keep their running values: the top-level
   * sections that differ are returned, for the caller to say a restart is
   * needed for them. Throws ConfigError, applying nothing, when a grant
   * names a scope that the configured descriptor sets do not declare.
   */
  reload(next: TesseraConfig): string[];
  /**
   * Stops: not ready at once (readiness 503, health NOT_SERVING), still
   * serving for `drainMs` (HTTP/1.1 answers with `connection: close`), then
   * no new connections, HTTP/2 and gRPC connections get a GOAWAY, and
   * requests and streams in flight get `graceMs` to finish before their
   * connections are closed. `tessera serve` passes the configured
   * `shutdown` settings on SIGTERM/SIGINT.
   */
  stop(options?: StopOptions): Promise<void>;
}

export interface StopOptions {
  /** Default 0: no drain period. */
  drainMs?: number;
  /** Default: config.shutdown.graceMs. */
  graceMs?: number;
}

/** The top-level settings of two configurations that differ, leaving out `applied`. */
function changedSections(before: TesseraConfig, after: TesseraConfig, applied: readonly string[]): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys]
    .filter((key) => !applied.includes(key))
    .filter((key) => JSON.stringify(before[key as keyof TesseraConfig]) !== JSON.stringify(after[key as keyof TesseraConfig]))
    .sort();
}

/**
 * Builds the trusted issuers of a configuration, again at each reload. A jwksUri keeps its RemoteKeySet
 * (and the keys it holds) across reloads while some issuer still names it.
 */
function trustedIssuersFollower(clock: Clock): { build(configs: readonly TrustedIssuerConfig[]): StaticTrustedIssuers } {
  let keySets = new Map<string, RemoteKeySet>();
  return {
    build(configs) {
      const kept = new Map<string, RemoteKeySet>();
      const registry = configuredTrustedIssuers(configs, (uri) => {
        const keySet = kept.get(uri) ?? keySets.get(uri) ?? new RemoteKeySet({ fetch: httpJwksFetcher(uri), clock });
        kept.set(uri, keySet);
        return keySet;
      });
      keySets = kept;
      return registry;
    },
  };
}

/** Requests larger than this are refused on every surface. */
export const MAX_REQUEST_BYTES = 64 * 1024;

/**
 * Managed signing keys: in Redis (sealed under the KEK, shared by every
 * replica) when the state lives there, else in this process's memory under a
 * KEK made now. An emergency key revocation is pushed to verifiers as a
 * revocation of the whole key.
 */
export async function startKeyManager(
  config: TesseraConfig,
  state: SharedState,
  issuer: string,
  kek: KeyEncryptionKey | undefined,
  clock: Clock,
  logger: Logger,
  events?: ServiceEvents,
): Promise<KeyManager> {
  let ring: KeyRing;
  if (state.redis !== undefined) {
    if (kek === undefined)
      throw new KeyEncryptionError("TESSERA_KEK (or TESSERA_KEK_FILE) is required when the signing keys live in Redis; `tessera keys kek` makes one");
    ring = new RedisKeyRing(state.redis.client, state.redis.keys.prefix, state.redis.commandTimeoutMs, events);
  } else {
    ring = new MemoryKeyRing();
  }
  const { rotation } = config.signing;
  return KeyManager.start({
    ring,
    kek: kek ?? { id: "process-local", key: randomBytes(32) },
    algorithm: config.signing.algorithm,
    policy: {
      rotationPeriodSeconds: rotation.periodSeconds,
      leadTimeSeconds: rotation.leadTimeSeconds,
      retainSeconds: config.tokens.maxLifetimeSeconds + CLOCK_SKEW_SECONDS,
    },
    checkIntervalMs: rotation.checkIntervalSeconds * 1000,
    onKeyRevoked: (kid, removeAt) => state.denyList.revoke(issuer, keyRevocationJti(kid), removeAt),
    clock,
    logger,
    ...(events !== undefined ? { events } : {}),
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
  let declared = loadDeclaredScopes(config.policy.descriptorSets, config.clients);

  // Listen first: with port 0 and no configured issuer, the issuer is the URL actually bound.
  let serveHttp: HttpHandler = (_req, res) => {
    res.writeHead(503);
    res.end();
  };
  const http = createHttpListener((req, res) => serveHttp(req, res), config.http.tls, config.http.limits);
  const adminGate = config.admin.enabled ? new GrpcClientAdminGate() : undefined;
  const grpcListener = createGrpcListener(config.grpc.limits, MAX_REQUEST_BYTES, config.grpc.tls, adminGate ? [adminGate.interceptor] : []);
  const grpc = grpcListener.server;
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

  const observability = serverObservability(config, logger, clock);
  const { events } = observability;
  const state = openSharedState(config, options, clock, logger, events);
  // The connection is made in the background; the key ring (and readiness) need it answering.
  const redisUpAtStart = state.redisHealth === undefined ? true : await state.redisHealth.waitUntilUp(2000);
  const redisRefusal = state.redisHealth?.fatal;
  if (redisRefusal !== undefined) {
    await Promise.all([http.close(), grpcListener.close(), state.close(), observability.close()]);
    throw new Error(`${redisRefusal.message}; not starting, rather than writing to another database`);
  }
  // The revocations this replica holds in memory load in the background too; readiness waits for them.
  if (redisUpAtStart) await state.redis?.denyList.waitUntilReady(2000);
  const clients = openClientRegistry(config, state, clock, logger, events);
  if (redisUpAtStart) await clients.waitUntilLoaded(2000);
  let keys: KeyStore;
  let keyManager: KeyManager | undefined;
  try {
    if (options.keys !== undefined) keys = options.keys;
    else if (config.signing.keyFile !== undefined) keys = MemoryKeyStore.single(await loadSigningKeyFile(config.signing.keyFile, config.signing.algorithm));
    else keys = keyManager = await startKeyManager(config, state, issuer, options.kek ?? kekFromEnv(process.env), clock, logger, events);
  } catch (err) {
    clients.close();
    await Promise.all([http.close(), grpcListener.close(), state.close(), observability.close()]);
    throw err;
  }
  // What a reload may change: the file's clients (in the registry), the token lifetimes and the trusted issuers.
  let running = config;
  const trusted = trustedIssuersFollower(clock);
  let trustedIssuers = trusted.build(config.trustedIssuers);
  const context: IssuerContext = {
    issuer,
    get tokens() {
      return running.tokens;
    },
    clients: clients.registry,
    get trustedIssuers() {
      return trustedIssuers;
    },
    keys,
    replay: state.replay,
    denyList: state.denyList,
    introspectionCache: state.introspectionCache,
    authThrottle: state.authThrottle,
    rateLimiter: state.rateLimiter,
    clientLimits: config.rateLimit.perClient,
    maxAssertionLifetimeSeconds: config.clientAssertions.maxLifetimeSeconds,
    clock,
    events,
  };
  let clientAdmin: ClientAdminServer | undefined;
  if (adminGate !== undefined) {
    clientAdmin = await startClientAdmin({
      config,
      issuer,
      keys,
      clients,
      revocations: state.revocations,
      context,
      scopeProblem: (audience, scope) => declared?.scopeProblem(audience, scope),
      clock,
      logger,
    });
    clientAdmin.serveGrpc(grpc, adminGate);
  }
  // One subscription to the revocation feed per replica, fanned out to every WatchRevocations stream.
  const fanout = new RevocationFanout(state.revocations, {
    ...config.watch,
    readiness: state.redisHealth === undefined ? [] : sharedStateReadiness(state.redisHealth, keyManager, state.redis?.denyList),
    clock,
    logger,
  });
  fanout.start();
  // Like the revocations held above: watchers arriving right after start find the feed followed.
  if (redisUpAtStart) await fanout.waitUntilSubscribed(2000);
  const watch = watchHandlers(context, fanout, config.watch.heartbeatMs, keyManager);
  const { metrics } = observability;
  const handlers = metrics === undefined ? tokenServiceHandlers(context) : timedHandlers(metrics, tokenServiceHandlers(context));
  const addresses = new ClientAddressResolver(config);
  const health = new HealthState();
  serveHttp = connectNodeAdapter({
    routes: (router) => {
      connectRoutes(handlers, watch, health)(router);
      clientAdmin?.connectRoutes(router);
    },
    readMaxBytes: MAX_REQUEST_BYTES,
    contextValues: (req) => authContextValues(req, connectContextValues(addresses)(req)),
    fallback: httpRoutes({ ctx: context, config: () => running, health, addresses, metrics }),
  });
  const adminServices = clientAdmin === undefined ? [] : [ClientAdminService];
  addGrpcRoutes(grpc, handlers, watch, health, addresses, config.grpc.reflection, adminServices);

  let grpcPort: number;
  try {
    grpcPort = (await grpcListener.listen(config.grpc.host, config.grpc.port)).port;
    refuseRepeatedAuthorization(grpc);
  } catch (err) {
    await grpcListener.close();
    fanout.close();
    keyManager?.stop();
    clientAdmin?.stop();
    clients.close();
    await Promise.all([http.close(), state.close(), observability.close()]);
    throw err;
  }

  // Ready while this replica can introspect and revoke its own tokens: Redis down, a lost key ring not
  // recovered yet, or revocations being re-seeded after a data loss mean NOT_SERVING (and /readyz 503).
  const setServing = (serving: boolean) => {
    const status = serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    health.set("", status);
    health.set(TokenService.typeName, status);
    for (const service of adminServices) health.set(service.typeName, status);
  };
  const redisHealth = state.redisHealth;
  let stopFollowingRedis = () => {};
  if (redisHealth === undefined) {
    setServing(true);
  } else {
    stopFollowingRedis = followReadiness(sharedStateReadiness(redisHealth, keyManager, state.redis?.denyList), setServing);
    if (!redisHealth.up) logger.warn("redis unavailable at start: not ready until it answers");
  }
  const grpcHost = config.grpc.host.includes(":") ? `[${config.grpc.host}]` : config.grpc.host;
  const grpcAddress = `${grpcHost}:${grpcPort}`;
  metrics?.track({
    redisUp: redisHealth === undefined ? undefined : () => redisHealth.up,
    keyRecords: keyManager === undefined ? undefined : () => keyManager!.records(),
    rotationPeriodSeconds: config.signing.rotation.periodSeconds,
  });
  const metricsAddress = await observability.listen();
  observability.audit?.record("config.loaded", {
    issuer,
    clients: config.clients.length,
    trusted_issuers: config.trustedIssuers.length,
    store: config.redis !== undefined || options.redis !== undefined ? "redis" : "memory",
    signing: options.keys !== undefined ? "given" : config.signing.keyFile !== undefined ? "key_file" : "managed",
    http: httpUrl,
    grpc: grpcAddress,
    metrics: metricsAddress ?? "off",
  });
  logger.info("tessera listening", { http: httpUrl, grpc: grpcAddress, issuer, ...(metricsAddress !== undefined ? { metrics: metricsAddress } : {}) });
  // Replicas that run different configurations say so (in Redis: a fingerprint each).
  const fingerprint = followConfigFingerprint(state, config, clock, logger, events);

  let stopping: Promise<void> | undefined;
  return {
    httpUrl,
    grpcAddress,
    issuer,
    context,
    revocations: state.revocations,
    keyManager,
    metricsAddress,
    reload: (next) => {
      // Throws ConfigError (nothing applied) when a grant names a scope the services' protos do not declare.
      const nextDeclared = loadDeclaredScopes(next.policy.descriptorSets, next.clients);
      const restartNeeded = changedSections(running, next, ["clients", "tokens", "policy", "trustedIssuers"]);
      declared = nextDeclared;
      clients.registry.replaceFileClients(next.clients);
      trustedIssuers = trusted.build(next.trustedIssuers);
      running = { ...running, clients: next.clients, tokens: next.tokens, policy: next.policy, trustedIssuers: next.trustedIssuers };
      fingerprint?.update(running);
      logger.info("configuration reloaded", {
        clients: next.clients.length,
        trusted_issuers: next.trustedIssuers.length,
        ...(restartNeeded.length > 0 ? { restartNeeded } : {}),
      });
      return restartNeeded;
    },
    stop: (options = {}) => {
      stopping ??= (async () => {
        const drainMs = options.drainMs ?? 0;
        const graceMs = options.graceMs ?? config.shutdown.graceMs;
        stopFollowingRedis();
        setServing(false);
        // Watch streams never finish by themselves: they end now (UNAVAILABLE), so that verifiers move to
        // another replica during the drain and no stream holds the listeners open.
        fanout.close();
        if (drainMs > 0) {
          logger.info("tessera draining", { drainMs, graceMs });
          http.drain();
          await new Promise((resolve) => setTimeout(resolve, drainMs));
        }
        await Promise.all([grpcListener.close(graceMs), http.close(graceMs)]);
        keyManager?.stop();
        clientAdmin?.stop();
        clients.close();
        await fingerprint?.stop();
        await Promise.all([state.close(), observability.close()]);
        logger.info("tessera stopped");
      })();
      return stopping;
    },
  };
}
