// Grants checked against the services' protos: descriptor sets built with the
// buf CLI (the example mesh's calendar service, and Tessera's own admin
// service) make a grant that names an undeclared scope a configuration error
// at start and on reload, an INVALID_ARGUMENT in the admin API (with the
// nearest declared scope), and an error of `tessera policy check`.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { ConfigError } from "../../src/config/config-error.js";
import type { TesseraConfig } from "../../src/config/types.js";
import { hashClientSecret } from "../../src/registry/client-secret.js";
import { createTesseraServer, type TesseraServer } from "../../src/server/tessera-server.js";
import { REPO_ROOT } from "../helpers/child-process.js";
import { adminConfig, adminToken, connectAdmin } from "../helpers/client-admin.js";
import { tessera } from "../helpers/run-tessera.js";

const CALENDAR = "example.calendar.v1.CalendarService";
let dir: string;
let calendarSet: string;
let adminSet: string;

function buf(path: string, out: string): void {
  execFileSync(join(REPO_ROOT, "node_modules/.bin/buf"), ["build", "-o", out, "--path", path], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 30_000,
  });
}

function withSets(config: TesseraConfig, sets: string[], grants: { audience: string; scopes: string[] }[]): TesseraConfig {
  return {
    ...config,
    policy: { descriptorSets: sets },
    clients: [
      ...config.clients,
      {
        id: "caller",
        authMethod: "client_secret_basic",
        secretHashes: [hashClientSecret("x".repeat(43))],
        grantTypes: ["client_credentials"],
        grants,
        audiences: [],
        introspection: false,
        tokenLifetimeSeconds: undefined,
      },
    ],
  };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "tessera-policy-"));
  calendarSet = join(dir, "calendar.binpb");
  adminSet = join(dir, "admin.binpb");
  buf("examples/proto/example/calendar", calendarSet);
  buf("proto/tessera/admin", adminSet);
});
after(() => rm(dir, { recursive: true, force: true }));

describe("a server with descriptor sets", () => {
  let server: TesseraServer;
  before(async () => {
    server = await createTesseraServer({ config: withSets(adminConfig(), [calendarSet, adminSet], [{ audience: CALENDAR, scopes: ["event.view"] }]) });
  });
  after(() => server.stop());

  test("refuses to start with a file grant naming an undeclared scope, naming the field and the nearest scope", async () => {
    const config = withSets(adminConfig(), [calendarSet], [{ audience: CALENDAR, scopes: ["event.view", "event.cretae"] }]);
    await assert.rejects(createTesseraServer({ config }), (err) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.field, "clients[4].grants[0].scopes[1]");
      assert.match(err.message, /no method of example\.calendar\.v1\.CalendarService declares the scope "event\.cretae"; did you mean "event\.create"\?/);
      return true;
    });
  });

  test("the admin API refuses such a grant with INVALID_ARGUMENT, the field and the nearest scope; other audiences are not checked", async () => {
    const admin = connectAdmin(server.httpUrl, await adminToken(server.httpUrl));
    try {
      await admin.createClient({ client: { clientId: "typo", grants: [{ audience: CALENDAR, scopes: ["event.delte"] }] } });
      assert.fail("created");
    } catch (err) {
      const e = ConnectError.from(err);
      assert.equal(e.code, Code.InvalidArgument);
      assert.match(e.rawMessage, /^client\.grants\[0\]\.scopes\[0\]: no method of .* declares the scope "event\.delte"; did you mean "event\.delete"\?/);
    }
    await admin.createClient({
      client: {
        clientId: "fine",
        grants: [
          { audience: CALENDAR, scopes: ["calendar.owner"] },
          { audience: "https://elsewhere.example.com", scopes: ["anything"] },
        ],
      },
    });
  });

  test("a reload with such a grant applies nothing", () => {
    const bad = withSets(adminConfig(), [calendarSet], [{ audience: CALENDAR, scopes: ["event.veiw"] }]);
    assert.throws(() => server.reload(bad), ConfigError);
    assert.ok(server.context.clients.get("caller")?.grants[0]?.scopes.includes("event.view"));
  });
});

describe("tessera policy check", () => {
  test("errors and warnings, human and JSON; exit 1 on errors, 0 without", async () => {
    const file = join(dir, "tessera.yaml");
    const yaml = (scopes: string) => `issuer: http://127.0.0.1:8080
clients:
  - id: caller
    authMethod: client_secret_basic
    secretHashes: ["${hashClientSecret("y".repeat(43))}"]
    grants:
      - { audience: ${CALENDAR}, scopes: [${scopes}] }
      - { audience: https://nowhere.example.com, scopes: [x] }
`;
    await writeFile(file, yaml("event.view, event.create, event.updaet"));
    const bad = await tessera(["policy", "check", "--config", file, calendarSet, adminSet]);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stdout, /error: clients\[0\] \(caller\)\.grants\[0\]\.scopes\[2\]: no method of .* "event\.updaet"; did you mean "event\.update"\?/);
    assert.match(bad.stdout, /warning: \/tessera\.admin\.v1\.ClientAdminService\/CreateClient: no client can call it/);
    assert.match(bad.stdout, /warning: audience https:\/\/nowhere\.example\.com \(granted to caller\): no loaded service declares it/);
    const json = await tessera(["policy", "check", "--config", file, calendarSet, "--json"]);
    const findings = JSON.parse(json.stdout) as { errors: { kind: string }[]; warnings: { kind: string }[] };
    assert.deepEqual(
      findings.errors.map((e) => e.kind),
      ["undeclared-scope"],
    );
    await writeFile(file, yaml("event.view, event.create, event.update, event.delete, calendar.owner"));
    const good = await tessera(["policy", "check", "--config", file, calendarSet]);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.match(good.stdout, /OK$/m);
  });
});
