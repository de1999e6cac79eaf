// The example mesh in one process: Tessera, CalendarService on Connect,
// FilesService on grpc-js and TasksService on Connect, each service protected
// by the scopes its proto declares, all on free ports on 127.0.0.1.
//
// Tessera's clients and grants are examples/mesh/tessera.yaml; every client
// gets a credential generated at start, and the complete configuration is
// written to a temporary directory (removed by stop()).
//
// One process for convenience only: every call crosses a real socket, and each
// service's verifier gets Tessera's keys and revocations over Tessera's
// WatchKeys and WatchRevocations streams, as the service's own client, exactly
// as a service in a process of its own would.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Http2Server, type ServerHttp2Session } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConnectError, createClient, type Client, type Interceptor as ConnectInterceptor } from "@connectrpc/connect";
import { Http2SessionManager, connectNodeAdapter, createConnectTransport } from "@connectrpc/connect-node";
import { InterceptingCall, ListenerBuilder, RequesterBuilder, Server, ServerCredentials, status, type Interceptor as GrpcInterceptor } from "@grpc/grpc-js";
import { exportJWK, exportPKCS8, generateKeyPair } from "jose";
import { parse, stringify } from "yaml";
import { remoteVerifier, type TokenVerifier } from "tessera";
import { clientCredentialsFetcher, TokenSource } from "tessera/client";
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

/** A client's credential, generated at start: a secret, or a private key (PKCS#8 PEM file) for private_key_jwt. */
export type MeshCredential = { readonly secret: string } | { readonly keyFile: string; readonly kid: string };

/** One RPC that Tasks sent to Calendar or Files (as it left Tasks' client, after the token interceptor). */
export interface OutboundCall {
  readonly from: "tasks";
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
  /** The clients and the token source Tasks calls with: its token interceptors are on them. */
  readonly tasks: { readonly tokens: TokenSource; readonly calendar: Client<typeof CalendarService>; readonly files: FilesClient };
  /** A token source for a client with a secret, over Tessera's OAuth token endpoint. */
  tokens(clientId: string): TokenSource;
  /** Calls `listener` for every RPC Tasks sends. */
  onOutboundCall(listener: (call: OutboundCall) => void): () => void;
  stop(): Promise<void>;
}

const DEFAULT_CONFIG = new URL("./tessera.yaml", import.meta.url).pathname;

/** Gives every client of the configuration a credential generated now. */
async function withCredentials(doc: { clients?: Record<string, unknown>[] }, dir: string): Promise<Map<string, MeshCredential>> {
  const credentials = new Map<string, MeshCredential>();
  for (const client of doc.clients ?? []) {
    const id = String(client.id);
    if (client.authMethod === "private_key_jwt") {
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

/** Starts Tessera and the three services; stop() ends them and removes the temporary configuration. */
export async function startMesh(options: MeshOptions = {}): Promise<Mesh> {
  const dir = mkdtempSync(join(tmpdir(), "tessera-mesh-"));
  chmodSync(dir, 0o700);
  const stops: (() => Promise<void> | void)[] = [() => rmSync(dir, { recursive: true, force: true })];
  const stop = async () => {
    for (const step of stops.splice(0).reverse()) await step();
  };
  try {
    // Tessera, from the mesh's configuration plus the credentials generated now.
    const doc = parse(readFileSync(options.configFile ?? DEFAULT_CONFIG, "utf8")) as { clients?: Record<string, unknown>[] };
    const credentials = await withCredentials(doc, dir);
    const configFile = join(dir, "tessera.yaml");
    writeFileSync(configFile, stringify(doc), { mode: 0o600 });
    const config = loadConfigFile(configFile, {}); // {}: no TESSERA_* overrides from this environment
    const tessera = await createTesseraServer({ config });
    stops.push(() => tessera.stop());
    // Each service has its own verifier, watching Tessera's streams as the service's own client.
    const verifier = async (clientId: string): Promise<TokenVerifier> => {
      const credential = credentials.get(clientId);
      if (credential === undefined || !("secret" in credential)) throw new Error(`no client with a secret: ${clientId}`);
      const v = remoteVerifier({ issuer: tessera.issuer, credentials: { clientId, auth: { method: "client_secret_basic", secret: credential.secret } } });
      await v.start();
      stops.push(() => v.stop());
      await v.revocationsLoaded();
      return v;
    };

    const tokens = (clientId: string): TokenSource => {
      const credential = credentials.get(clientId);
      if (credential === undefined || !("secret" in credential)) throw new Error(`no client with a secret: ${clientId}`);
      return new TokenSource({
        fetch: clientCredentialsFetcher({
          tokenEndpoint: `${tessera.httpUrl}/oauth2/token`,
          clientId,
          auth: { method: "client_secret_basic", secret: credential.secret },
        }),
      });
    };

    // CalendarService on Connect.
    const calendar = await serveConnect(
      connectNodeAdapter({ routes: protect(await verifier("calendar"), (router) => router.service(CalendarService, calendarConnect())) }),
    );
    stops.push(() => calendar.close());

    // FilesService on grpc-js.
    const files = new Server({ interceptors: [authServerInterceptor({ verifier: await verifier("files"), services: [FilesService] })] });
    const bridged = bridgeService(FilesService, filesService(options.files ?? []));
    files.addService(bridged.definition, bridged.implementation);
    const filesAddress = await serveGrpc(files);
    stops.push(() => void files.forceShutdown());

    // Tasks' clients: the token interceptors attach Tasks' tokens (reporting is for the demo's transcript).
    const listeners = new Set<(call: OutboundCall) => void>();
    const report = (method: string, code: number) => {
      for (const listener of listeners) listener({ from: "tasks", method, status: status[code] ?? String(code) });
    };
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

    // TasksService on Connect.
    const tasks = await serveConnect(
      connectNodeAdapter({
        routes: protect(await verifier("tasks"), (router) => router.service(TasksService, tasksConnect({ calendar: tasksCalendar, files: tasksFiles }))),
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
      tasks: { tokens: tasksTokens, calendar: tasksCalendar, files: tasksFiles },
      tokens,
      onOutboundCall(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
