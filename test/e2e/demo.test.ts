// `npm run demo` (examples/mesh/demo.ts), run as a user runs it: the seed
// scenario's calls print the scripted outcomes and the demo exits 0; with a
// grant wider than the script expects, it says so and exits 1.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { REPO_ROOT, childEnv, killUnfinished, runToEnd, type Finished } from "../helpers/child-process.js";

const temporary: string[] = [];

after(() => {
  killUnfinished();
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

/** `npm run demo` as a user runs it; npm runs tsx, which runs node: a timeout kills the whole group. */
function npmRunDemo(env: Record<string, string> = {}, timeoutMs = 45_000): Promise<Finished> {
  return runToEnd("npm", ["run", "demo"], { env: childEnv(env), timeoutMs, group: true });
}

describe("npm run demo", () => {
  test("prints each call of the scenario with its scripted outcome, and exits 0", async () => {
    const { code, stdout, stderr } = await npmRunDemo();
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    const expected: RegExp[] = [
      // Tasks schedules a task: Files.GetFile and Calendar.CreateEvent allowed, the event created by tasks.
      /planner → TasksService\/ScheduleTask +allowed: event evt-1, file launch-plan\.md\n +tasks → FilesService\/GetFile +allowed\n +tasks → CalendarService\/CreateEvent +allowed\n/,
      /viewer → CalendarService\/GetEvent +allowed: created_by tasks\n/,
      // Tasks may delete nothing: Tessera refuses the token, nothing is sent.
      /tasks → CalendarService\/DeleteEvent +PERMISSION_DENIED, missing event\.delete calendar\.owner \(invalid_scope: Tessera refused the token\)\n +✓/,
      /tasks → FilesService\/DeleteFile +PERMISSION_DENIED, missing file\.delete \(invalid_scope: Tessera refused the token\)\n +✓/,
      // A token without the scope that reaches Calendar: Calendar refuses it.
      /tasks → CalendarService\/DeleteEvent +PERMISSION_DENIED, missing event\.delete calendar\.owner \(insufficient_scope: /,
      /\(no token\) → CalendarService\/ListEvents +UNAUTHENTICATED \(invalid_token: a bearer token is required\)/,
      /tasks → CalendarService\/ListEvents +UNAUTHENTICATED \(invalid_token: the token has been revoked\)/,
      /tasks → CalendarService\/ListEvents +allowed: 1 event\(s\), with a new token: true\n +tasks → CalendarService\/ListEvents +UNAUTHENTICATED\n +tasks → CalendarService\/ListEvents +allowed\n/,
      // The caller without task.schedule.
      /viewer → TasksService\/ScheduleTask +PERMISSION_DENIED, missing task\.schedule \(invalid_target: Tessera refused the token\)/,
      /viewer → TasksService\/ScheduleTask +PERMISSION_DENIED, missing task\.schedule \(insufficient_scope: the token was not issued for this service\)/,
    ];
    for (const pattern of expected) assert.match(stdout, pattern);
    assert.equal(stdout.match(/✓ as scripted/g)?.length, 10);
    assert.doesNotMatch(stdout, /NOT as scripted/);
    assert.match(stdout, /all 10 outcomes as scripted\n/);
    assert.match(stdout, /Tessera +http:\/\/127\.0\.0\.1:\d+ .*127\.0\.0\.1:\d+ \(gRPC\)/, "loopback only");
  });

  test("an outcome other than the script's fails the demo: exit 1", async () => {
    // The same mesh, but Tasks may delete files.
    const dir = mkdtempSync(join(tmpdir(), "tessera-demo-test-"));
    temporary.push(dir);
    const config = readFileSync(join(REPO_ROOT, "examples/mesh/tessera.yaml"), "utf8").replace("scopes: [file.view]", "scopes: [file.view, file.delete]");
    assert.match(config, /file\.delete/);
    writeFileSync(join(dir, "tessera.yaml"), config);
    const { code, stdout } = await npmRunDemo({ MESH_CONFIG: join(dir, "tessera.yaml") });
    assert.equal(code, 1, stdout);
    assert.match(
      stdout,
      /tasks → FilesService\/DeleteFile +allowed: deleted\n +tasks → FilesService\/DeleteFile +allowed\n +✗ NOT as scripted: expected PERMISSION_DENIED/,
    );
    assert.match(stdout, /1 of 10 outcomes NOT as scripted/);
  });
});
