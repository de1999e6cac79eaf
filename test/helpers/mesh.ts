// A small mesh for interceptor tests: Tessera (memory store, in this process),
// CalendarService served by Connect (HTTP/1.1 + h2c) and by grpc-js, both
// protected by the interceptors, and token sources for the mesh's clients.
import { after, before } from "node:test";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { CalendarService } from "../../examples/gen/example/calendar/v1/calendar_pb.js";
import { hashClientSecret } from "../../src/registry/client-secret.js";
import { validateConfig } from "../../src/config/validate.js";
import { protect } from "../../src/connect.js";
import { authServerInterceptor, bridgeService } from "../../src/grpc.js";
import { MemoryKeyStore } from "../../src/keys/key-store.js";
import { generateSigningKey } from "../../src/keys/signing-key.js";
import { MemoryDenyList } from "../../src/store/memory/deny-list.js";
import { createHttpListener, type HttpListener } from "../../src/server/http-listener.js";
import type { TesseraServer } from "../../src/server/tessera-server.js";
import { startCapturedServer } from "./start-server.js";
import { clientCredentialsFetcher } from "../../src/token-source/client-credentials-fetcher.js";
import { TokenSource, type TokenFetcher } from "../../src/token-source/token-source.js";
import { remoteVerifier } from "../../src/remote/remote-verifier.js";
import type { TokenVerifier } from "../../src/verifier/token-verifier.js";
import { recordSecrets } from "./log-capture.js";
import { calendarConnect, calendarGrpc, calendarStore } from "../../examples/mesh/calendar-service.js";

export const CALENDAR = CalendarService.typeName;
export const FILES = "example.files.v1.FilesService";

/** The mesh's clients: id → secret and grants. */
export const MESH_CLIENTS = {
  tasks: { scopes: { [CALENDAR]: ["event.view", "event.create"], [FILES]: ["file.view", "file.create"] } },
  admin: { scopes: { [CALENDAR]: ["event.view", "event.delete", "calendar.admin"] } },
  deleter: { scopes: { [CALENDAR]: ["event.view", "event.delete"] } },
  filer: { scopes: { [FILES]: ["file.view"] } },
  brief: { scopes: { [CALENDAR]: ["event.view"] }, lifetime: 2 },
} as const;
/** The protected services' own clients (resource servers of their audience): what their verifiers watch Tessera's streams as. */
export const MESH_SERVICES = { calendar: CALENDAR, files: FILES } as const;
export type MeshClient = keyof typeof MESH_CLIENTS | keyof typeof MESH_SERVICES;

export function secretOf(client: MeshClient): string {
  return `${client}-secret-0123456789abcdef0123456789abcdef`;
}

export interface MeshTessera {
  server: TesseraServer;
  keys: MemoryKeyStore;
  denyList: MemoryDenyList;
}

/** Tessera with the mesh's clients, on free ports, issuer = its HTTP URL. */
export async function startMeshTessera(): Promise<MeshTessera> {
  const config = validateConfig(
    {
      http: { port: 0 },
      grpc: { port: 0 },
      metrics: { enabled: false },
      audit: { enabled: false },
      clients: [
        ...Object.entries(MESH_CLIENTS).map(([id, c]) => ({
          id,
          authMethod: "client_secret_basic",
          secretHashes: [hashClientSecret(secretOf(id as MeshClient))],
          grants: Object.entries(c.scopes).map(([audience, scopes]) => ({ audience, scopes })),
          ...("lifetime" in c ? { tokenLifetimeSeconds: c.lifetime } : {}),
        })),
        ...Object.entries(MESH_SERVICES).map(([id, audience]) => ({
          id,
          authMethod: "client_secret_basic",
          secretHashes: [hashClientSecret(secretOf(id as MeshClient))],
          audiences: [audience],
        })),
      ],
    },
    {},
    () => "",
  );
  const keys = MemoryKeyStore.single(await generateSigningKey("ES256"));
  const denyList = new MemoryDenyList();
  recordSecrets(...[...Object.keys(MESH_CLIENTS), ...Object.keys(MESH_SERVICES)].map((id) => secretOf(id as MeshClient)));
  const server = await startCapturedServer({ config, keys, denyList });
  return { server, keys, denyList };
}

/** A token source for a mesh client over Tessera's OAuth token endpoint, counting its token requests. */
export function meshTokens(tessera: TesseraServer, client: MeshClient): { tokens: TokenSource; fetches: () => number } {
  const fetcher = clientCredentialsFetcher({
    tokenEndpoint: `${tessera.httpUrl}/oauth2/token`,
    clientId: client,
    auth: { method: "client_secret_basic", secret: secretOf(client) },
  });
  let count = 0;
  const counting: TokenFetcher = (request) => {
    count++;
    return fetcher(request);
  };
  return { tokens: new TokenSource({ fetch: counting }), fetches: () => count };
}

/** A raw token for a client and audience, straight from the token endpoint. */
export async function rawToken(tessera: TesseraServer, client: MeshClient, audience: string, scopes: readonly string[] = []): Promise<string> {
  return meshTokens(tessera, client).tokens.get(audience, scopes);
}

export interface CalendarServers {
  /** http://127.0.0.1:port of the Connect server (Connect, gRPC-Web, gRPC; HTTP/1.1 and h2c). */
  connectUrl: string;
  /** 127.0.0.1:port of the grpc-js server. */
  grpcAddress: string;
  stop(): Promise<void>;
}

/** CalendarService on Connect and on grpc-js, both protected by `verifier`, sharing one store. */
export async function startCalendars(verifier: TokenVerifier): Promise<CalendarServers> {
  const store = calendarStore();
  const http: HttpListener = createHttpListener(
    connectNodeAdapter({ routes: protect(verifier, (router) => router.service(CalendarService, calendarConnect(store))) }),
  );
  const address = await http.listen("127.0.0.1", 0);
  const grpc = new Server({ interceptors: [authServerInterceptor({ verifier, services: [CalendarService] })] });
  const { definition, implementation } = bridgeService(CalendarService, calendarGrpc(store));
  grpc.addService(definition, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    grpc.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    connectUrl: `http://127.0.0.1:${address.port}`,
    grpcAddress: `127.0.0.1:${port}`,
    stop: async () => {
      grpc.forceShutdown();
      await http.close();
    },
  };
}

/** The mesh's Tessera, a verifier that follows its revocations, and CalendarService protected by it. */
interface CalendarMesh {
  tessera: MeshTessera;
  verifier: TokenVerifier;
  calendars: CalendarServers;
  stop(): Promise<void>;
}

async function startCalendarMesh(): Promise<CalendarMesh> {
  const tessera = await startMeshTessera();
  const verifier = remoteVerifier({ issuer: tessera.server.issuer, revocations: tessera.denyList });
  await verifier.start();
  const calendars = await startCalendars(verifier);
  return {
    tessera,
    verifier,
    calendars,
    stop: async () => {
      await calendars.stop();
      verifier.stop();
      await tessera.server.stop();
    },
  };
}

/** The calendar mesh of a test file: started before its tests, stopped after them with the clients it tracked. */
export interface CalendarMeshFixture {
  readonly tessera: MeshTessera;
  readonly calendars: CalendarServers;
  /** Closes `client` when the file's tests are done. */
  track<C extends { close(): void }>(client: C): C;
}

export function useCalendarMesh(): CalendarMeshFixture {
  let mesh: CalendarMesh | undefined;
  const clients: { close(): void }[] = [];
  const started = (): CalendarMesh => {
    if (mesh === undefined) throw new Error("the calendar mesh starts in before()");
    return mesh;
  };
  before(async () => {
    mesh = await startCalendarMesh();
  });
  after(async () => {
    clients.forEach((c) => c.close());
    await mesh?.stop();
  });
  return {
    get tessera() {
      return started().tessera;
    },
    get calendars() {
      return started().calendars;
    },
    track: (client) => {
      clients.push(client);
      return client;
    },
  };
}
