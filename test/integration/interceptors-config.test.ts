// What the interceptors refuse before any call: a method without a rule stops
// the server from starting; tokens never go in cleartext to a non-loopback
// host; and rules loaded from a FileDescriptorSet enforce the same way.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { CalendarService } from "../../examples/gen/example/calendar/v1/calendar_pb.js";
import { FilesService } from "../../examples/gen/example/files/v1/files_pb.js";
import { protect, tokenInterceptor } from "../../src/connect.js";
import { authServerInterceptor, bridgeService, tokenClientInterceptor } from "../../src/grpc.js";
import { remoteVerifier } from "../../src/remote/remote-verifier.js";
import { AuthRuleError } from "../../src/policy/read-auth-rules.js";
import { rulesByPath, servicesFromDescriptorSet } from "../../src/policy/rules-by-path.js";
import type { TokenVerifier } from "../../src/verifier/token-verifier.js";
import { filesService } from "../../examples/mesh/files-service.js";
import { fails } from "../helpers/calendar-clients.js";
import { grpcJsClient } from "../helpers/grpc-client.js";
import { FILES, meshTokens, startMeshTessera, type MeshTessera } from "../helpers/mesh.js";
import { REPO_ROOT } from "../helpers/child-process.js";
import { buildFixtureRegistry } from "../helpers/proto-registry.js";

let tessera: MeshTessera;
let verifier: TokenVerifier;
before(async () => {
  tessera = await startMeshTessera();
  verifier = remoteVerifier({ issuer: tessera.server.issuer, revocations: tessera.denyList });
  await verifier.start();
});
after(async () => {
  verifier.stop();
  await tessera.server.stop();
});

describe("a method without a rule: the server refuses to start", () => {
  const registry = buildFixtureRegistry(["example/v1/policy_fixture.proto"]);
  const incomplete = registry.getService("example.v1.IncompleteService")!;

  test("Connect: protect() throws naming every such method", () => {
    assert.throws(
      () => createRouterTransport(protect(verifier, (router) => router.service(incomplete, {}))),
      (err: unknown) => err instanceof AuthRuleError && /\/example\.v1\.IncompleteService\/DeleteTask/.test(err.message) && /ArchiveTask/.test(err.message),
    );
  });

  test("grpc-js: building the server interceptor throws naming every such method", () => {
    assert.throws(
      () => authServerInterceptor({ verifier, services: [CalendarService, incomplete] }),
      (err: unknown) => err instanceof AuthRuleError && err.methods.length === 2,
    );
  });
});

describe("tokens never in cleartext to a non-loopback host", () => {
  test("Connect: the interceptor refuses before fetching a token or sending anything", async () => {
    const { tokens, fetches } = meshTokens(tessera.server, "tasks");
    // A router transport answers in-process: no network. The URL it reports is what the interceptor checks.
    const transport = createRouterTransport((router) => router.service(CalendarService, { listEvents: () => ({ events: [] }) }), {
      transport: { baseUrl: "http://calendar.internal.example", interceptors: [tokenInterceptor({ tokens })] },
    });
    const err = await fails(createClient(CalendarService, transport).listEvents({}));
    assert.equal(err.code, Code.FailedPrecondition);
    assert.match(err.message, /cleartext/);
    assert.equal(fetches(), 0);
    const allowed = createRouterTransport((router) => router.service(CalendarService, { ping: (r) => ({ text: r.text }) }), {
      transport: { baseUrl: "http://calendar.internal.example", interceptors: [tokenInterceptor({ tokens, allowInsecure: true })] },
    });
    assert.equal((await createClient(CalendarService, allowed).ping({ text: "ok" })).text, "ok");
  });

  test("grpc-js: an insecure channel to a non-loopback target is refused at construction", () => {
    const { tokens } = meshTokens(tessera.server, "tasks");
    assert.throws(
      () => tokenClientInterceptor({ tokens, services: [CalendarService], channel: { target: "calendar.internal.example:443", tls: false } }),
      /cleartext/,
    );
    assert.doesNotThrow(() => tokenClientInterceptor({ tokens, services: [CalendarService], channel: { target: "calendar.internal.example:443", tls: true } }));
    assert.doesNotThrow(() => tokenClientInterceptor({ tokens, services: [CalendarService], channel: { target: "127.0.0.1:50051", tls: false } }));
  });
});

describe("rules from a FileDescriptorSet (other code generators)", () => {
  const dir = mkdtempSync(join(tmpdir(), "tessera-fds-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("buf build → servicesFromDescriptorSet → the grpc-js interceptor enforces file.view", async () => {
    const out = join(dir, "set.binpb");
    execFileSync(join(REPO_ROOT, "node_modules/.bin/buf"), ["build", "-o", out], { cwd: REPO_ROOT });
    const services = servicesFromDescriptorSet(readFileSync(out), [FilesService.typeName]);
    const rules = rulesByPath(services);
    assert.equal(rules.get("/example.files.v1.FilesService/GetFile")?.kind, "bearer");

    const server = new Server({ interceptors: [authServerInterceptor({ verifier, rules })] });
    const { definition, implementation } = bridgeService(FilesService, filesService());
    server.addService(definition, implementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const { tokens } = meshTokens(tessera.server, "filer");
    const target = `127.0.0.1:${port}`;
    const bare = grpcJsClient(FilesService, target);
    const authed = grpcJsClient(FilesService, target, undefined, {
      interceptors: [tokenClientInterceptor({ tokens, rules, channel: { target, tls: false } })],
    });
    try {
      assert.equal((await fails(bare.unary("getFile", { id: "x" }))).code, Code.Unauthenticated);
      assert.equal((await fails(authed.unary("getFile", { id: "x" }))).code, Code.NotFound, "authorized, then the handler's own answer");
      const denied = await fails(authed.unary("createFile", { name: "a" }));
      assert.equal(denied.code, Code.PermissionDenied, "filer may not get file.create");
      assert.equal(denied.detail?.error, "invalid_scope");
      assert.equal(await tokens.get(FILES, ["file.view"]).then((t) => t.length > 0), true);
    } finally {
      bare.close();
      authed.close();
      server.forceShutdown();
    }
  });
});
