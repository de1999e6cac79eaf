// The example mesh in one process: Tessera, CalendarService on Connect,
// FilesService on grpc-js and TasksService on Connect, each service protected
// by the scopes its proto declares, all on free ports on 127.0.0.1.
//
// Tessera's clients and grants are examples/mesh/tessera.yaml; every client
// gets a credential generated at start, and the complete configuration is
// written to a temporary directory (removed by stop()). Tasks has none: the
// mesh plays a Kubernetes cluster (workload-issuer.ts) whose projected
// service-account token Tasks authenticates with, and Tasks reads files on
// behalf of its callers with tokens exchanged for theirs (RFC 8693).
//
// One process for convenience only: every call crosses a real socket, and each
// service's verifier gets Tessera's keys and revocations over Tessera's
// WatchKeys and WatchRevocations streams, as the service's own client, exactly
// as a service in a process of its own would.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type Http2Server, type ServerHttp2Session } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConnectError, createClient, type Client, type Interceptor as ConnectInterceptor } from "@connectrpc/connect";
import { Http2SessionManager, connectNodeAdapter, createConnectTransport } from "@connectrpc/connect-node";
import { InterceptingCall, ListenerBuilder, RequesterBuilder, Server, ServerCredentials, status, type Interceptor as GrpcInterceptor } from "@grpc/grpc-js";
import { exportJWK, exportPKCS8, generateKeyPair } from "jose";
import { parse, stringify } from "yaml";
import { remoteVerifier, type TokenVerifier } from "tessera";
import { clientCredentialsFetcher, DelegatedTokenSource, tokenExchangeFetcher, TokenSource, type ClientAuthentication } from "tessera/client";
import { protect, tokenInterceptor } from "tessera/connect";
import { authServerInterceptor, bridgeService, tokenClientInterceptor } from "tessera/grpc";
import { createTesseraServer, generateClientSecret, hashClientSecret, loadConfigFile, type TesseraServer } from "tessera/server";
import { CalendarService } from "../gen/example/calendar/v1/calendar_pb.js";
import { FilesService } from "../gen/example/files/v1/files_pb.js";
import { TasksService } from "../gen/example/tasks/v1/tasks_pb.js";
import { calendarConnect } from "./calendar-service.js";
import { filesClient, type FilesClient } from "./files-client.js";
import { filesService } from "./files-service.js";
import { tasksConnect } from "./tasks-service.js";
import { startWorkloadIssuer } from "./workload-issuer.js";

/** The `iss` of the mesh's workload tokens: a cluster's service-account issuer, as Kubernetes names it. */
export const MESH_CLUSTER_ISSUER = "https://kubernetes.default.svc.cluster.local";

/**
 * A client's credential, generated at start: a secret, a private key (PKCS#8
 * PEM file) for private_key_jwt, or for workload_identity the file its
 * projected service-account token is written to (no secret at all).
 */
export type MeshCredential = { readonly secret: string } | { readonly keyFile: string; readonly kid: string } | { readonly tokenFile: string };

/** One RPC that Tasks sent to Calendar or Files (as it left Tasks' client, after the token interceptor). */
export interface OutboundCall {
  readonly from: "tasks";
  /** Sent with a token exchanged for Tasks' caller's (act: tasks), not with Tasks' own. */
  readonly onBehalf: boolean;
  /** "CalendarService/CreateEvent". */
  readonly method: string;
  /** "OK", "PERMISSION_DENIED", ... */
  readonly status: string;
}

export interface MeshOptions {
  /** Tessera's configuration without credentials. Default: examples/mesh/tessera.yaml. */
  configFile?: string;
  /** Files that exist from the start (file-1, file-2, ...). */
  files?: readonly { name: string; content: Uint8Array }[];
}

export interface Mesh {
  readonly tessera: TesseraServer;
  /** The configuration Tessera was started with, credentials included (in `dir`). */
  readonly configFile: string;
  /** The temporary directory of the configuration and the private keys; removed by stop(). */
  readonly dir: string;
  /** CalendarService on Connect: http://127.0.0.1:port (Connect, gRPC and gRPC-Web over h2c). */
  readonly calendarUrl: string;
  /** FilesService on grpc-js: 127.0.0.1:port. */
  readonly filesAddress: string;
  /** TasksService on Connect: http://127.0.0.1:port. */
  readonly tasksUrl: string;
  /** Every client's generated credential, by client id. */
  readonly credentials: ReadonlyMap<string, MeshCredential>;
  /** The clients and the token sources Tasks calls with: its own token interceptors are on `calendar` and `files`. */
  readonly tasks: {
    readonly tokens: TokenSource;
    /** Tokens exchanged on behalf of Tasks' callers. */
    readonly onBehalf: DelegatedTokenSource;
    readonly calendar: Client<typeof CalendarService>;
    readonly files: FilesClient;
    /** Tasks' current workload token (its projected file): its client authentication. */
    workloadToken(): Promise<string>;
  };
  /** How a client authenticates: its secret, or its workload token. */
  auth(clientId: string): ClientAuthentication;
  /** A token source for a client with a secret or a workload token, over Tessera's OAuth token endpoint. */
  tokens(clientId: string): TokenSource;
  /** Calls `listener` for every RPC Tasks sends. */
  onOutboundCall(listener: (call: OutboundCall) => void): () => void;
  /** Calls `listener` with every line a service logs (Files logs each read: whose rights, and the act chain). */
  onServiceLog(listener: (log: { readonly service: "files"; readonly line: string }) => void): () => void;
  stop(): Promise<void>;
}

const DEFAULT_CONFIG = new URL("./tessera.yaml", import.meta.url).pathname;

interface MeshConfig {
  clients?: Record<string, unknown>[];
  trustedIssuers?: { issuer?: string; jwksUri?: string; subjects?: { subject?: string; clientId?: string }[] }[];
}

/** Gives every client of the configuration a credential generated now (a workload client: where its token will be). */
async function withCredentials(doc: MeshConfig, dir: string): Promise<Map<string, MeshCredential>> {
  const credentials = new Map<string, MeshCredential>();
  for (const client of doc.clients ?? []) {
    const id = String(client.id);
    if (client.authMethod === "workload_identity") {
      credentials.set(id, { tokenFile: join(dir, `${id}-token`) });
    } else if (client.authMethod === "private_key_jwt") {
      const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
      const kid = `${id}-${Date.now().toString(36)}`;
      client.jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" }] };
      const keyFile = join(dir, `${id}-key.pem`);
      writeFileSync(keyFile, await exportPKCS8(privateKey), { mode: 0o600 });
      credentials.set(id, { keyFile, kid });
    } else {
      const secret = generateClientSecret();
      client.secretHashes = [hashClientSecret(secret)];
      credentials.set(id, { secret });
    }
  }
  return credentials;
}

function shortMethod(path: string): string {
  // "/example.calendar.v1.CalendarService/CreateEvent" → "CalendarService/CreateEvent"
  const [, service = "", method = ""] = path.split("/");
  return `${service.split(".").pop()}/${method}`;
}

/** The service accounts (system:serviceaccount:<namespace>:<name>) the mesh's cluster issuer maps to clients. */
function serviceAccounts(doc: MeshConfig): { clientId: string; namespace: string; serviceAccount: string }[] {
  const found = [];
  for (const trusted of doc.trustedIssuers ?? []) {
    if (trusted.issuer !== MESH_CLUSTER_ISSUER) continue;
    for (const { subject = "", clientId = "" } of trusted.subjects ?? []) {
      const [, namespace, serviceAccount] = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(subject) ?? [];
      if (namespace !== undefined && serviceAccount !== undefined) found.push({ clientId, namespace, serviceAccount });
    }
  }
  return found;
}

/** A Connect client interceptor that reports each call it sends and how it ended. */
function reportConnect(report: (method: string, code: number) => void): ConnectInterceptor {
  return (next) => async (req) => {
    const method = `${req.service.name}/${req.method.name}`;
    try {
      const res = await next(req);
      report(method, status.OK);
      return res;
    } catch (err) {
      report(method, ConnectError.from(err).code);
      throw err;
    }
  };
}

/** The same for grpc-js. */
function reportGrpc(report: (method: string, code: number) => void): GrpcInterceptor {
  return (options, nextCall) =>
    new InterceptingCall(
      nextCall(options),
      new RequesterBuilder()
        .withStart((metadata, _listener, next) =>
          next(
            metadata,
            new ListenerBuilder()
              .withOnReceiveStatus((s, nextStatus) => {
                report(shortMethod(options.method_definition.path), s.code);
                nextStatus(s);
              })
              .build(),
          ),
        )
        .build(),
    );
}

/** An h2c server for Connect routes on 127.0.0.1 port 0; close() also ends its open sessions. */
async function serveConnect(handler: ReturnType<typeof connectNodeAdapter>): Promise<{ url: string; close(): Promise<void> }> {
  const server: Http2Server = createServer(handler);
  const sessions = new Set<ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      }),
  };
}

async function serveGrpc(server: Server): Promise<string> {
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return `127.0.0.1:${port}`;
}

/** Starts the cluster's workload issuer, Tessera and the three services; stop() ends them and removes the temporary configuration. */
export async function startMesh(options: MeshOptions = {}): Promise<Mesh> {
  const dir = mkdtempSync(join(tmpdir(), "tessera-mesh-"));
  chmodSync(dir, 0o700);
  const stops: (() => Promise<void> | void)[] = [() => rmSync(dir, { recursive: true, force: true })];
  const stop = async () => {
    for (const step of stops.splice(0).reverse()) await step();
  };
  try {
    // The cluster: its service-account issuer's JWKS on 127.0.0.1, trusted by Tessera.
    const doc = parse(readFileSync(options.configFile ?? DEFAULT_CONFIG, "utf8")) as MeshConfig;
    const cluster = await startWorkloadIssuer(MESH_CLUSTER_ISSUER);
    stops.push(() => cluster.close());
    for (const trusted of doc.trustedIssuers ?? []) if (trusted.issuer === MESH_CLUSTER_ISSUER) trusted.jwksUri = cluster.jwksUri;

    // Tessera, from the mesh's configuration plus the credentials generated now.
    const credentials = await withCredentials(doc, dir);
    const configFile = join(dir, "tessera.yaml");
    writeFileSync(configFile, stringify(doc), { mode: 0o600 });
    const config = loadConfigFile(configFile, {}); // {}: no TESSERA_* overrides from this environment
    const tessera = await createTesseraServer({ config });
    stops.push(() => tessera.stop());

    // The kubelet's part: each workload's projected token, audience = Tessera's issuer, in its file.
    for (const { clientId, namespace, serviceAccount } of serviceAccounts(doc)) {
      const credential = credentials.get(clientId);
      if (credential !== undefined && "tokenFile" in credential) {
        await cluster.project({ namespace, serviceAccount, audience: tessera.issuer, path: credential.tokenFile });
      }
    }

    const auth = (clientId: string): ClientAuthentication => {
      const credential = credentials.get(clientId);
      if (credential !== undefined && "secret" in credential) return { method: "client_secret_basic", secret: credential.secret };
      // Read for every request, as a workload reads its projected file: the kubelet rewrites it.
      if (credential !== undefined && "tokenFile" in credential) return { method: "workload_identity", token: () => readFile(credential.tokenFile, "utf8") };
      throw new Error(`no client with a secret or a workload token: ${clientId}`);
    };
    const tokenEndpoint = `${tessera.httpUrl}/oauth2/token`;

    // Each service has its own verifier, watching Tessera's streams as the service's own client.
    const verifier = async (clientId: string): Promise<TokenVerifier> => {
      const v = remoteVerifier({ issuer: tessera.issuer, credentials: { clientId, auth: auth(clientId) } });
      await v.start();
      stops.push(() => v.stop());
      await v.revocationsLoaded();
      return v;
    };

    const tokens = (clientId: string): TokenSource => new TokenSource({ fetch: clientCredentialsFetcher({ tokenEndpoint, clientId, auth: auth(clientId) }) });

    // CalendarService on Connect.
    const calendar = await serveConnect(
      connectNodeAdapter({ routes: protect(await verifier("calendar"), (router) => router.service(CalendarService, calendarConnect())) }),
    );
    stops.push(() => calendar.close());

    // FilesService on grpc-js; it logs whose rights each read uses.
    const logListeners = new Set<(log: { readonly service: "files"; readonly line: string }) => void>();
    const log = (line: string) => {
      for (const listener of logListeners) listener({ service: "files", line });
    };
    const files = new Server({ interceptors: [authServerInterceptor({ verifier: await verifier("files"), services: [FilesService] })] });
    const bridged = bridgeService(FilesService, filesService(options.files ?? [], { log }));
    files.addService(bridged.definition, bridged.implementation);
    const filesAddress = await serveGrpc(files);
    stops.push(() => void files.forceShutdown());

    // Tasks' clients: the token interceptors attach Tasks' tokens (reporting is for the demo's transcript).
    const listeners = new Set<(call: OutboundCall) => void>();
    const reporter = (onBehalf: boolean) => (method: string, code: number) => {
      for (const listener of listeners) listener({ from: "tasks", onBehalf, method, status: status[code] ?? String(code) });
    };
    const report = reporter(false);
    const tasksTokens = tokens("tasks");
    const sessions = new Http2SessionManager(calendar.url);
    stops.push(() => sessions.abort());
    const tasksCalendar = createClient(
      CalendarService,
      createConnectTransport({
        baseUrl: calendar.url,
        httpVersion: "2",
        sessionManager: sessions,
        defaultTimeoutMs: 5000,
        interceptors: [tokenInterceptor({ tokens: tasksTokens }), reportConnect(report)],
      }),
    );
    const tasksFiles = filesClient(filesAddress, [
      tokenClientInterceptor({ tokens: tasksTokens, services: [FilesService], channel: { target: filesAddress, tls: false } }),
      reportGrpc(report),
    ]);
    stops.push(() => tasksFiles.close());
    // On behalf of its callers: their tokens exchanged by Tasks (authenticated by its workload token), and a
    // Files client without a token interceptor, to which Tasks hands the exchanged token.
    const onBehalf = new DelegatedTokenSource({ fetch: tokenExchangeFetcher({ tokenEndpoint, clientId: "tasks", auth: auth("tasks") }) });
    const filesForCallers = filesClient(filesAddress, [reportGrpc(reporter(true))]);
    stops.push(() => filesForCallers.close());

    // TasksService on Connect.
    const tasks = await serveConnect(
      connectNodeAdapter({
        routes: protect(await verifier("tasks"), (router) =>
          router.service(TasksService, tasksConnect({ calendar: tasksCalendar, files: filesForCallers, onBehalf })),
        ),
      }),
    );
    stops.push(() => tasks.close());

    return {
      tessera,
      configFile,
      dir,
      calendarUrl: calendar.url,
      filesAddress,
      tasksUrl: tasks.url,
      credentials,
      tasks: {
        tokens: tasksTokens,
        onBehalf,
        calendar: tasksCalendar,
        files: tasksFiles,
        workloadToken: async () => {
          const tasksAuth = auth("tasks");
          if (tasksAuth.method !== "workload_identity") throw new Error("tasks does not authenticate with a workload token in this configuration");
          return (await tasksAuth.token()).trim();
        },
      },
      auth,
      tokens,
      onOutboundCall(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      onServiceLog(listener) {
        logListeners.add(listener);
        return () => logListeners.delete(listener);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
