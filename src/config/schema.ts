// The configuration, stated once: its shape, defaults, documentation and
// environment overrides. Types (types.ts), defaults (defaults.ts), the
// environment overlay (env-overlay.ts) and docs/configuration.md
// (`npm run docs:config`) are all derived from this file.
//
// Adding a setting is one field here, in its section (or a new section at the
// root, `name: section({ … }).prefault({}).meta({ description })`):
//   drainSeconds: int(0, 600).default(30).meta({ description: "…", env: "TESSERA_DRAIN_SECONDS" }),
// The type (TesseraConfig), the default, the env override, unknown-field
// refusal with suggestions and the docs follow. Then `npm run docs:config`.
// A rule across fields is a named check in checks.ts, called from validate.ts;
// a default another module needs as a constant is one line in defaults.ts.
import type { JSONWebKeySet } from "jose";
import { z } from "zod";
import { SCOPE_TOKEN } from "../internal/oauth-syntax.js";
import { isAddressOrRange } from "../internal/source-address.js";

/** What every field carries besides its shape (`.meta()`); docs/configuration.md renders it. */
export interface FieldMeta {
  /** One or two sentences for the reference. */
  description: string;
  /** An environment variable that overrides the file's value. */
  env?: string;
  /** Fields that may not be in the file when `env` is set (REDIS_URL is a whole topology). */
  envExcludes?: readonly string[];
  /** The default, in words, where it is derived rather than a constant. */
  defaultText?: string;
}

declare module "zod" {
  interface GlobalMeta extends Partial<FieldMeta> {}
}

export const SIGNING_ALGORITHMS = ["ES256", "EdDSA", "RS256"] as const;
export const CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "workload_identity"] as const;
export const GRANT_CLIENT_CREDENTIALS = "client_credentials";
export const GRANT_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
export const GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
export const GRANT_TYPES = [GRANT_CLIENT_CREDENTIALS, GRANT_JWT_BEARER, GRANT_TOKEN_EXCHANGE] as const;
/** What a trusted issuer's token may be presented again for: once, or until it expires. */
export const WORKLOAD_REPLAY_POLICIES = ["single-use", "reuse-within-lifetime"] as const;
export const DEFAULT_GRANT_ALGORITHMS = ["RS256", "PS256", "ES256", "ES384", "EdDSA"];
const ASYMMETRIC_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"] as const;

// Field builders carrying the problem statements of the error contract
// (`invalid configuration: <path>: <problem>`). No message includes the received value.

const OBJECT = "must be an object";

function text(problem = "must be a non-empty string") {
  return z.string({ error: problem }).min(1, { error: problem });
}

function int(min: number, max: number) {
  const problem = `must be an integer from ${min} to ${max}`;
  return z.number({ error: problem }).int({ error: problem }).min(min, { error: problem }).max(max, { error: problem });
}

function flag() {
  return z.boolean({ error: "must be true or false" });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T, problem = `must be one of ${values.join(", ")}`) {
  return z.enum(values, { error: problem });
}

function list<T extends z.ZodType>(item: T, problem = "must be a list") {
  return z.array(item, { error: problem });
}

function section<T extends z.core.$ZodLooseShape>(shape: T) {
  return z.strictObject(shape, { error: OBJECT });
}

/** `env:NAME` or `file:PATH`: the secret itself is never written in the file. It is resolved after validation. */
function secretReference(what: string, required?: string) {
  return z
    .string({ error: (issue) => (issue.input === undefined && required ? required : "must be a non-empty string") })
    .refine((ref) => ref.startsWith("env:") || ref.startsWith("file:"), { error: `must be a reference, env:NAME or file:PATH, not the ${what} itself` });
}

const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k"];

/** A JWK Set of public keys: a private member (d, k, …) is refused, naming it. */
function publicJwks(required?: string) {
  const keys = z.array(z.unknown(), { error: "must be a non-empty list of JWKs" }).min(1, { error: "must be a non-empty list of JWKs" });
  const set = z.looseObject({ keys }, { error: (issue) => (issue.input === undefined && required ? required : OBJECT) }).superRefine((value, ctx) => {
    value.keys.forEach((key, i) => {
      if (typeof key !== "object" || key === null || Array.isArray(key) || typeof (key as Record<string, unknown>).kty !== "string") {
        ctx.addIssue({ code: "custom", path: ["keys", i], message: "must be a JWK with kty" });
        return;
      }
      for (const member of PRIVATE_JWK_MEMBERS) {
        if (member in key) ctx.addIssue({ code: "custom", path: ["keys", i, member], message: "a registered key must be public" });
      }
    });
  });
  return set as unknown as z.ZodType<JSONWebKeySet, unknown>;
}

const redisNode = z.string({ error: "must be host:port (IPv6 as [addr]:port)" }).transform((value, ctx) => {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port < 1 || port > 65535) {
    ctx.addIssue({ code: "custom", message: "must be host:port (IPv6 as [addr]:port)" });
    return z.NEVER;
  }
  return { host: match[1] ?? match[2]!, port };
});

const redisNodes = list(redisNode, "must be a non-empty list of host:port").min(1, { error: "must be a non-empty list of host:port" });

/** redis:// or rediss://, an optional database number. The URL may hold a password: never echo it. */
const redisUrl = text("must be a redis:// or rediss:// URL").superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: "custom", message: "must be a redis:// or rediss:// URL" });
    return;
  }
  if ((url.protocol !== "redis:" && url.protocol !== "rediss:") || url.hostname === "") {
    ctx.addIssue({ code: "custom", message: "must be a redis:// or rediss:// URL" });
  } else if (url.pathname !== "" && url.pathname !== "/" && !/^\/\d{1,2}$/.test(url.pathname)) {
    ctx.addIssue({ code: "custom", message: "the path, if any, must be a database number" });
  }
});

const tls = section({
  certFile: text().meta({ description: "PEM certificate chain file." }),
  keyFile: text().meta({ description: "PEM private key file." }),
});

const listenerLimits = section({
  maxConnections: int(1, 1_000_000).default(1024).meta({ description: "Open connections at most; further ones are closed on accept." }),
  headersTimeoutMs: int(50, 3_600_000).default(10_000).meta({
    description:
      "A new connection must deliver its first complete request (gRPC: its first call) within this time; HTTP/1.1 each further request head too. At most requestTimeoutMs.",
    defaultText: "10000, or requestTimeoutMs if lower",
  }),
  requestTimeoutMs: int(50, 3_600_000)
    .default(30_000)
    .meta({ description: "A request (gRPC call) must have arrived completely, body included, within this time of its start." }),
  idleTimeoutMs: int(50, 3_600_000).default(60_000).meta({
    description: "A connection with no request in flight (HTTP/1.1 keep-alive, HTTP/2 session without streams, gRPC channel) is closed after this time.",
  }),
  maxConcurrentStreams: int(1, 10_000).default(100).meta({ description: "Concurrent HTTP/2 streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS)." }),
  maxHeaderBytes: int(1024, 1_048_576)
    .default(16_384)
    .meta({ description: "Largest request head: HTTP/1.1 request line and headers (431 past it); the HTTP/2 header-list size announced to clients." }),
})
  .prefault({})
  .meta({ description: "What one client can hold: timeouts for slow and idle connections, and caps. See docs/operations.md." });

function listener<const Extra extends z.ZodRawShape>(name: "http" | "grpc", port: number, serves: string, extra: Extra) {
  const NAME = name.toUpperCase();
  return (
    section({
      host: text()
        .default("127.0.0.1")
        .meta({ description: "Interface to bind. The default accepts connections from this machine only.", env: `TESSERA_${NAME}_HOST` }),
      port: int(0, 65535)
        .default(port)
        .meta({ description: "TCP port; 0 picks a free one.", env: `TESSERA_${NAME}_PORT` }),
      tls: tls
        .optional()
        .meta({ description: `Serve TLS with this certificate and key (${name === "http" ? "ALPN h2 and http/1.1" : "gRPC over TLS"}). Absent: plaintext.` }),
      limits: listenerLimits,
      ...extra,
    })
      // Every field has a default: an absent section parses as {} (the generic Extra hides that from the type).
      .prefault({} as never)
      .meta({ description: serves })
  );
}

const grant = section({
  audience: text()
    .refine((audience) => !/\s/.test(audience), { error: "must not contain white space" })
    .meta({ description: "The audience: a resource indicator (absolute URI), a service name or another client's id. Matched exactly." }),
  scopes: list(z.string({ error: "is not a valid scope token (RFC 6749 §3.3)" }).regex(SCOPE_TOKEN, { error: "is not a valid scope token (RFC 6749 §3.3)" }))
    .default([])
    .meta({ description: "The scopes the client may request for this audience (RFC 6749 §3.3 scope tokens)." }),
});

const clientId = text()
  .regex(/^[\x21-\x7E]+$/, { error: "must be printable ASCII without spaces" })
  .meta({ description: "The client identifier; also an audience (every client can be a resource server). Unique, case-sensitive." });

/** What every client has besides its id, whatever its authentication method. */
const clientFields = {
  grantTypes: list(oneOf(GRANT_TYPES)).default([GRANT_CLIENT_CREDENTIALS]).meta({
    description:
      "Grant types the client may use: client_credentials, urn:ietf:params:oauth:grant-type:jwt-bearer, urn:ietf:params:oauth:grant-type:token-exchange (RFC 8693; needs tokenExchange). An explicit [] allows none.",
  }),
  grants: list(grant).default([]).meta({ description: "Audiences the client may get tokens for, each once, and the scopes it may get there." }),
  audiences: list(text()).default([]).meta({ description: "Further audience names under which this client acts as a resource server (besides its id)." }),
  introspection: flag().default(false).meta({ description: "Whether the client may introspect tokens issued for its audiences (RFC 7662)." }),
  tokenLifetimeSeconds: int(1, 86_400)
    .optional()
    .meta({ description: "Lifetime of tokens issued to this client; at most tokens.maxLifetimeSeconds.", defaultText: "tokens.lifetimeSeconds" }),
  tokenExchange: section({
    subjects: list(text(), "must be a non-empty list").min(1, { error: "must be a non-empty list" }).meta({
      description: 'The subjects (sub of the subject token: the client that started the chain) this client may act for; "*" for any. Matched exactly.',
    }),
    audiences: list(text()).optional().meta({
      description: "The audiences this client may ask for on someone's behalf; each one of its grants.",
      defaultText: "every audience of its grants",
    }),
  })
    .optional()
    .meta({
      description:
        "Token exchange (RFC 8693) as an actor: whose tokens this client may exchange, for which audiences (a may_act policy). Required with the token-exchange grant type.",
    }),
};

/** The discriminator of a client's shape. */
function authMethod<const T extends string>(method: T) {
  return z.literal(method).meta({
    description: "The client's one authentication method (RFC 6749 §2.3, RFC 7523 §2.2): it decides which credential field the client has.",
  });
}

function secretHashClient(method: "client_secret_basic" | "client_secret_post") {
  const count = "must hold one or two hashes";
  const hash = z
    .string({ error: "must be sha256:<43 base64url characters>" })
    .regex(/^sha256:[A-Za-z0-9_-]{43}$/, { error: "must be sha256:<43 base64url characters>" });
  return section({
    id: clientId,
    authMethod: authMethod(method),
    secretHashes: z
      .array(hash, { error: (issue) => (issue.input === undefined ? `is required for ${method}` : count) })
      .min(1, { error: count })
      .max(2, { error: count })
      .meta({
        description: "SHA-256 digests of the client's secrets, `sha256:<base64url>` (`tessera secret` makes one). One or two, so that a secret can be rotated.",
      }),
    ...clientFields,
  });
}

const client = z.discriminatedUnion(
  "authMethod",
  [
    secretHashClient("client_secret_basic"),
    secretHashClient("client_secret_post"),
    section({
      id: clientId,
      authMethod: authMethod("client_secret_jwt"),
      jwtSecret: secretReference("secret", "is required for client_secret_jwt").meta({
        description:
          "The shared HMAC secret (at least 32 bytes), as env:NAME or file:PATH, never the secret itself. The loaded configuration holds the resolved value.",
      }),
      ...clientFields,
    }),
    section({
      id: clientId,
      authMethod: authMethod("private_key_jwt"),
      jwks: publicJwks("is required for private_key_jwt").meta({ description: "The client's public keys, a JWK Set; a private member (d, k, …) is refused." }),
      ...clientFields,
    }),
    // No credential field: the client proves itself with a token of a trusted issuer whose subject maps to it.
    section({
      id: clientId,
      authMethod: authMethod("workload_identity"),
      ...clientFields,
    }),
  ],
  { error: (issue) => (typeof issue.input === "object" && issue.input !== null ? `must be one of ${CLIENT_AUTH_METHODS.join(", ")}` : OBJECT) },
);

const trustedIssuer = section({
  issuer: text().meta({ description: "The issuer identifier, matched exactly against the assertion's iss." }),
  jwks: publicJwks().optional().meta({ description: "Its public keys, inline. Exactly one of jwks and jwksUri." }),
  jwksUri: text()
    .optional()
    .meta({ description: "Where its public keys are fetched (timeout 5 s, 256 KiB cap, refetch cooldown 30 s): https, or http on loopback." }),
  algorithms: list(oneOf(ASYMMETRIC_ALGORITHMS, "must be an asymmetric JWS algorithm"))
    .default([...DEFAULT_GRANT_ALGORITHMS] as (typeof ASYMMETRIC_ALGORITHMS)[number][])
    .meta({ description: "Accepted assertion algorithms (asymmetric only)." }),
  replay: oneOf(WORKLOAD_REPLAY_POLICIES).default("single-use").meta({
    description:
      "single-use: each token (its jti, which is then required) is accepted once. reuse-within-lifetime: a token is accepted again until its exp (+60 s skew), jti optional; only for tokens audience-bound to this issuer and held by the workload (Kubernetes projected service-account tokens, SPIFFE JWT-SVIDs). See docs/workload-identity.md.",
  }),
  maxLifetimeSeconds: int(60, 86_400)
    .default(3600)
    .meta({ description: "Longest accepted token of this issuer, as exp − iat and as exp − now, in seconds (plus 60 s skew on exp − now)." }),
  subjects: list(
    section({
      subject: text().meta({ description: "The token's sub (e.g. system:serviceaccount:ns:name, spiffe://domain/path)." }),
      clientId: text().meta({
        description:
          "The registered client it stands for; that client must allow the jwt-bearer grant or authenticate with workload_identity (then the token is its client_assertion).",
      }),
    }),
    "must be a non-empty list",
  )
    .min(1, { error: "must be a non-empty list" })
    .meta({ description: "Which assertion subject stands for which registered client." }),
});

const redis = section({
  url: redisUrl.optional().meta({
    description: "Standalone server: redis://[user:password@]host:port[/db], or rediss://… for TLS.",
    env: "REDIS_URL",
    envExcludes: ["sentinels", "name", "cluster"],
  }),
  sentinels: redisNodes.optional().meta({ description: "Sentinel: the sentinels' addresses, host:port (IPv6 as [addr]:port); with name." }),
  name: text().optional().meta({ description: "Sentinel: the name of the monitored master set." }),
  cluster: redisNodes.optional().meta({ description: "Cluster: some of its nodes, host:port (the rest is discovered)." }),
  username: text().optional().meta({ description: "ACL user name (Sentinel and Cluster; a URL carries its own)." }),
  password: secretReference("password").optional().meta({
    description: "Password as env:NAME or file:PATH (Sentinel and Cluster; a URL carries its own). The loaded configuration holds the resolved value.",
  }),
  keyPrefix: z
    .string({ error: "must be a non-empty string" })
    // Tessera adds its own hash tags ({…}) where keys must share a Cluster slot: a brace in the prefix would override them.
    .regex(/^[\x21-\x7A\x7C\x7E]{1,64}$/, { error: "must be at most 64 printable ASCII characters without spaces, { or }" })
    .default("tessera:")
    .meta({ description: "Prefix of every key Tessera writes (its own, not ioredis' keyPrefix); lets several deployments share a Redis." }),
  waitReplicas: z.literal([0, 1], { error: "must be an integer from 0 to 1" }).optional().meta({
    description:
      "Replicas that must confirm a revocation (WAIT) before it is acknowledged: 0 or 1. Absent: follows the topology, 1 once the primary (standalone or Sentinel's; Cluster: any master) reported a connected replica in INFO replication (asked at the first revocation, after each reconnection and every 30 s), from then on until restart; else 0.",
    defaultText: "follows the topology",
  }),
  waitTimeoutMs: int(10, 60_000).default(500).meta({ description: "How long a revocation waits for that replica, in milliseconds; then 503." }),
  commandTimeoutMs: int(50, 60_000)
    .default(2000)
    .meta({ description: "Longest any Redis operation may take before the request answers 503, in milliseconds." }),
});

/** The configuration file (YAML or JSON) after the environment overlay. */
export const configSchema = section({
  issuer: text().optional().meta({
    description:
      "The issuer identifier: iss of every token, aud of client assertions. An http(s) URL without query or fragment (RFC 8414 §2). Required with Redis (replicas) or a wildcard http.host.",
    env: "TESSERA_ISSUER",
    defaultText: "http://<http.host>:<http.port> as bound",
  }),
  http: listener("http", 8080, "The HTTP listener: Connect, gRPC-Web and the OAuth endpoints, HTTP/1.1 and h2c.", {}),
  grpc: listener("grpc", 9090, "The gRPC listener (grpc-js).", {
    reflection: flag().default(true).meta({
      description: "gRPC server reflection (grpc.reflection.v1 and v1alpha) for TokenService, Health and, when admin is enabled, ClientAdminService.",
    }),
  }),
  tokens: section({
    lifetimeSeconds: int(1, 86_400).default(300).meta({
      description: "Default access-token lifetime, in seconds; at most maxLifetimeSeconds.",
      env: "TESSERA_TOKEN_LIFETIME",
      defaultText: "300, or maxLifetimeSeconds if that is lower",
    }),
    maxLifetimeSeconds: int(1, 86_400)
      .default(3600)
      .meta({ description: "Upper bound of every lifetime, the default and each client's tokenLifetimeSeconds, in seconds." }),
    maxActorChainDepth: int(1, 16)
      .default(4)
      .meta({ description: "Token exchange (RFC 8693): the most actors an exchanged token may name in its nested act claim; a deeper exchange is refused." }),
  })
    .prefault({})
    .meta({ description: "Access-token lifetimes." }),
  signing: section({
    algorithm: oneOf(SIGNING_ALGORITHMS)
      .default("ES256")
      .meta({ description: "Algorithm of generated keys: ES256, EdDSA or RS256.", env: "TESSERA_SIGNING_ALG" }),
    keyFile: text().optional().meta({
      description:
        "A PEM (PKCS#8) or JWK private key file managed elsewhere: it signs as it is, without rotation. Absent: Tessera manages its keys (in memory, or in Redis sealed under TESSERA_KEK).",
      env: "TESSERA_SIGNING_KEY_FILE",
    }),
    rotation: section({
      periodSeconds: int(3600, 366 * 86_400)
        .default(7 * 86_400)
        .meta({ description: "How long a managed key signs before the next takes over, in seconds." }),
      leadTimeSeconds: int(60, 366 * 86_400)
        .default(3600)
        .meta({
          description: "How long a key is published before it signs, in seconds; longer than any verifier's JWKS cache. At most periodSeconds.",
          defaultText: "3600, or periodSeconds if that is lower",
        }),
      checkIntervalSeconds: int(1, 3600)
        .default(60)
        .meta({ description: "How often each replica checks the rotation schedule and re-reads the key ring, in seconds." }),
    })
      .prefault({})
      .meta({ description: "Rotation of managed keys." }),
  })
    .prefault({})
    .meta({ description: "Token signing keys." }),
  clients: list(client).default([]).meta({ description: "Registered clients. Each has one authMethod, which decides its credential field." }),
  trustedIssuers: list(trustedIssuer).default([]).meta({
    description:
      "External issuers (workload identity: Kubernetes, SPIFFE, any OIDC issuer with a JWKS) whose tokens stand for clients: as a jwt-bearer grant (RFC 7523 §2.1) or as the client_assertion of a workload_identity client. Reloaded on SIGHUP.",
  }),
  redis: redis.optional().meta({
    description:
      "Shared state in Redis (deny-list and revocation feed, introspection cache, assertion replay, failed-authentication counts, signing keys). Exactly one of url, sentinels (with name) and cluster. Absent, and no REDIS_URL: this process's memory, one replica only.",
  }),
  introspection: section({
    cacheSeconds: int(0, 3600)
      .default(60)
      .meta({ description: "How long an active introspection answer is cached (never past the token's exp); 0: no cache." }),
  })
    .prefault({})
    .meta({ description: "Token introspection (RFC 7662)." }),
  rateLimit: section({
    failures: int(0, 1_000_000)
      .default(10)
      .meta({ description: "Failed authentications within the window after which the (client, source) pair gets 429; 0: no throttling." }),
    windowSeconds: int(1, 86_400).default(60).meta({ description: "The window, in seconds, counted from the first failure." }),
    perClient: section({
      introspections: int(0, 100_000_000)
        .default(60_000)
        .meta({ description: "Introspection requests per authenticated client per window (1000/s by default); 0: no limit." }),
      revocations: int(0, 100_000_000)
        .default(600)
        .meta({ description: "Revocation requests per authenticated client per window (10/s by default); 0: no limit." }),
      windowSeconds: int(1, 86_400).default(60).meta({ description: "The fixed window, in seconds, from the client's first request in it." }),
    })
      .prefault({})
      .meta({
        description:
          "Requests of each authenticated client, counted per fixed window and shared by every replica through Redis: over the limit, 429 slow_down + Retry-After / RESOURCE_EXHAUSTED until the window ends. Fails open when it cannot count.",
      }),
  })
    .prefault({})
    .meta({ description: "Throttling of failed client authentications per (client, source address), and per-client request rates." }),
  shutdown: section({
    drainMs: int(0, 600_000)
      .default(5000)
      .meta({ description: "After SIGTERM or SIGINT: not ready (503 /readyz, NOT_SERVING) but still serving, this long, so load balancers stop sending." }),
    graceMs: int(0, 600_000)
      .default(10_000)
      .meta({ description: "Then in-flight requests and streams get this long before the remaining connections are closed." }),
  })
    .prefault({})
    .meta({ description: "Graceful shutdown of `tessera serve`." }),
  watch: section({
    heartbeatMs: int(100, 60_000).default(5000).meta({
      description:
        "Longest a WatchRevocations or WatchKeys stream stays silent: an idle stream gets a heartbeat this often (sent to watchers as heartbeat_interval_ms), so that a watcher can tell a quiet stream from a dead one.",
    }),
    historySize: int(1, 1_000_000).default(10_000).meta({
      description:
        "Recent revocations each replica keeps so that a watcher resuming with its cursor gets only what it missed; further behind, it gets a snapshot.",
    }),
    maxQueuedPerWatcher: int(1, 1_000_000).default(10_000).meta({
      description:
        "Revocations that may wait for one watcher that does not read (its transport buffers full); one more and its stream is reset (RESOURCE_EXHAUSTED), so that no queue grows without bound. The watcher reconnects with its cursor.",
    }),
    maxWatchers: int(0, 1_000_000).default(10_000).meta({
      description: "Streams (WatchRevocations and WatchKeys) one replica serves at most; more are refused UNAVAILABLE, so that watchers go to another replica.",
    }),
  })
    .prefault({})
    .meta({ description: "The WatchRevocations and WatchKeys streams that push revocations and keys to verifiers." }),
  clientAssertions: section({
    maxLifetimeSeconds: int(10, 3600)
      .default(300)
      .meta({ description: "Longest accepted client assertion (client_secret_jwt, private_key_jwt), as exp − iat and as exp − now, in seconds." }),
  })
    .prefault({})
    .meta({ description: "Client assertions (RFC 7523 client authentication)." }),
  metrics: section({
    enabled: flag()
      .default(true)
      .meta({ description: "Serve Prometheus metrics (GET /metrics) on a listener of their own, never on the public HTTP listener." }),
    host: text()
      .default("127.0.0.1")
      .meta({ description: "Interface of the metrics listener. The default accepts scrapes from this machine only.", env: "TESSERA_METRICS_HOST" }),
    port: int(0, 65535).default(9464).meta({ description: "TCP port of the metrics listener; 0 picks a free one.", env: "TESSERA_METRICS_PORT" }),
  })
    .prefault({})
    .meta({ description: "Prometheus metrics. See docs/observability.md for every metric and its labels." }),
  audit: section({
    enabled: flag()
      .default(true)
      .meta({ description: "Write audit events (tokens issued, refused client authentications, revocations, key changes), one JSON line each." }),
    file: text()
      .optional()
      .meta({ description: "Append audit events to this file. Absent: standard output (logs go to standard error).", env: "TESSERA_AUDIT_FILE" }),
  })
    .prefault({})
    .meta({ description: "The audit stream. See docs/observability.md for its events and their fields." }),
  policy: section({
    descriptorSets: list(text()).default([]).meta({
      description:
        "Descriptor sets (buf build -o, protoc --include_imports --descriptor_set_out) of the services Tessera issues tokens for: a grant (file or admin API) naming a scope that no method of a loaded service's audience declares is refused, with the nearest declared scope. Read at start and on reload.",
    }),
  })
    .prefault({})
    .meta({ description: "What the protos of the services declare, checked against the grants. `tessera policy check` reports on the same sets." }),
  admin: section({
    enabled: flag().default(true).meta({
      description:
        "Serve tessera.admin.v1.ClientAdminService (clients, grants and secrets at run time) on both listeners. A caller needs a token for the audience tessera.admin.v1.ClientAdminService with tessera.clients.read or tessera.clients.write: only clients granted that audience are administrators.",
    }),
    resyncSeconds: int(1, 3600).default(30).meta({
      description: "With Redis: how often each replica re-reads every client, in case a change message was lost (changes arrive by pub/sub at once).",
    }),
  })
    .prefault({})
    .meta({ description: "The client admin API and its registry. See docs/client-admin.md." }),
  trustedProxies: list(
    z.string({ error: "must be an IP address or a CIDR range" }).refine(isAddressOrRange, { error: "must be an IP address or a CIDR range" }),
  )
    .default([])
    .meta({
      description:
        "Proxies (IP addresses or CIDRs) whose forwarded-address header is believed, for failed-authentication throttling: only when the TCP peer is one of them is the header read, and the client is its rightmost address that is not a trusted proxy. Empty: the TCP peer is the client.",
    }),
  forwardedHeader: oneOf(["x-forwarded-for", "forwarded"] as const)
    .default("x-forwarded-for")
    .meta({ description: "The header trusted proxies set: x-forwarded-for, or forwarded (RFC 7239)." }),
});
