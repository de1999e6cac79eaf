// gRPC server reflection on the grpc-js listener: `buf curl` lists and calls
// the services without proto files.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import type { TesseraServer } from "../../src/server/tessera-server.js";
import { startCapturedServer } from "../helpers/start-server.js";
import { fixtureConfig } from "../helpers/fixtures.js";
import { REPO_ROOT } from "../helpers/child-process.js";

const run = promisify(execFile);
const bufCurl = (args: string[]) =>
  run("npx", ["--no", "buf", "curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], { cwd: REPO_ROOT, timeout: 20_000, maxBuffer: 1 << 20 });

describe("gRPC server reflection", () => {
  let server: TesseraServer;
  let unreflected: TesseraServer;
  before(async () => {
    server = await startCapturedServer({ config: (await fixtureConfig()).config });
    const { config } = await fixtureConfig();
    config.grpc.reflection = false;
    unreflected = await startCapturedServer({ config });
  });
  after(() => Promise.all([server?.stop(), unreflected?.stop()]));

  test("buf curl --list-services and --list-methods, without a schema", async () => {
    const { stdout: services } = await bufCurl(["--list-services", `http://${server.grpcAddress}`]);
    assert.deepEqual(services.trim().split("\n").sort(), ["grpc.health.v1.Health", "tessera.admin.v1.ClientAdminService", "tessera.v1.TokenService"]);
    const { stdout: methods } = await bufCurl(["--list-methods", `http://${server.grpcAddress}`]);
    for (const method of [
      "tessera.v1.TokenService/IssueToken",
      "tessera.v1.TokenService/GetJwks",
      "grpc.health.v1.Health/Check",
      "tessera.admin.v1.ClientAdminService/ListClients",
    ]) {
      assert.ok(methods.split("\n").includes(method), `${method} in\n${methods}`);
    }
  });

  test("buf curl calls a method with the schema from reflection", async () => {
    const { stdout } = await bufCurl(["-d", "{}", `http://${server.grpcAddress}/tessera.v1.TokenService/GetJwks`]);
    const jwks = JSON.parse((JSON.parse(stdout) as { jwksJson: string }).jwksJson) as { keys: unknown[] };
    assert.ok(jwks.keys.length > 0);
  });

  test("the admin service has a health status of its own; without admin, neither reflection nor health knows it", async () => {
    const check = (address: string) => bufCurl(["-d", '{"service":"tessera.admin.v1.ClientAdminService"}', `http://${address}/grpc.health.v1.Health/Check`]);
    assert.deepEqual(JSON.parse((await check(server.grpcAddress)).stdout), { status: "SERVING" });
    const { config } = await fixtureConfig();
    config.admin.enabled = false;
    const plain = await startCapturedServer({ config });
    try {
      const { stdout } = await bufCurl(["--list-services", `http://${plain.grpcAddress}`]);
      assert.ok(!stdout.includes("ClientAdminService"));
      await assert.rejects(check(plain.grpcAddress), /not.?found/i);
    } finally {
      await plain.stop();
    }
  });

  test("grpc.reflection: false serves no reflection", async () => {
    await assert.rejects(bufCurl(["--list-services", `http://${unreflected.grpcAddress}`]), /unimplemented/i);
  });
});
