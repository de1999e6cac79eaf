// `npm run demo` (examples/mesh/demo.ts), run as a user runs it: the seed
// scenario's calls print the scripted outcomes, the Go and Python services
// among them, and the demo exits 0; with a grant wider than the script
// expects, it says so and exits 1. Issue 19's "done when": Tasks
// authenticates with a workload token and no secret, and the two-hop call
// planner → Tasks → Files carries an act chain that Files sees and logs.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { buildPolyglot } from "../../examples/mesh/polyglot.js";
import { REPO_ROOT, childEnv, killUnfinished, runToEnd, type Finished } from "../helpers/child-process.js";
import { docPages, shownIn } from "../helpers/doc-pages.js";

const temporary: string[] = [];

// The Go service's first build (cold Go cache) takes longer than a demo may: build it, as the demo does, once first.
before(() => void buildPolyglot(), { timeout: 300_000 });

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
      // Tasks has no secret: its Kubernetes-shaped workload token authenticates it.
      /tasks → POST \/oauth2\/token +allowed: client_id tasks for example\.calendar\.v1\.CalendarService, as system:serviceaccount:mesh:tasks of https:\/\/kubernetes\.default\.svc\.cluster\.local\n +✓/,
      // Tasks schedules a task: it reads the file on planner's behalf (an exchanged token), and Files logs
      // whose rights the read used (sub = planner) and who acted for them (act.sub = tasks); it creates the
      // event with its own token.
      /planner → TasksService\/ScheduleTask +allowed: event evt-1, file launch-plan\.md\n +tasks for caller → FilesService\/GetFile +allowed\n +tasks → CalendarService\/CreateEvent +allowed\n +files: GetFile file-1 sub=planner act=\{"sub":"tasks"\}\n +✓/,
      // Exchanged scopes = the subject token's ∩ Tasks' grant: Tasks' own event.create is not lent to planner.
      /tasks for planner → CalendarService\/CreateEvent +PERMISSION_DENIED \(invalid_scope: Tessera refused the token\)\n +✓/,
      /viewer → CalendarService\/GetEvent +allowed: created_by tasks\n/,
      // Tasks may delete nothing: Tessera refuses the token, nothing is sent.
      /tasks → CalendarService\/DeleteEvent +PERMISSION_DENIED, missing event\.delete calendar\.owner \(invalid_scope: Tessera refused the token\)\n +✓/,
      /tasks → FilesService\/DeleteFile +PERMISSION_DENIED, missing file\.delete \(invalid_scope: Tessera refused the token\)\n +✓/,
      // A token without the scope that reaches Calendar: Calendar refuses it.
      /tasks → CalendarService\/DeleteEvent +PERMISSION_DENIED, missing event\.delete calendar\.owner \(insufficient_scope: /,
      /\(no token\) → CalendarService\/ListEvents +UNAUTHENTICATED \(invalid_token: a bearer token is required\)/,
      // Revoked by tasks, authenticated by its workload token.
      /tasks → CalendarService\/ListEvents +UNAUTHENTICATED \(invalid_token: the token has been revoked\)/,
      /tasks → CalendarService\/ListEvents +allowed: 1 event\(s\), with a new token: true\n +tasks → CalendarService\/ListEvents +UNAUTHENTICATED\n +tasks → CalendarService\/ListEvents +allowed\n/,
      // The caller without task.schedule.
      /viewer → TasksService\/ScheduleTask +PERMISSION_DENIED, missing task\.schedule file\.view \(invalid_target: Tessera refused the token\)/,
      /viewer → TasksService\/ScheduleTask +PERMISSION_DENIED, missing task\.schedule file\.view \(insufficient_scope: the token was not issued for this service\)/,
      // Go and Python: each is called by Tasks and calls a Node service, refuses a missing scope, honours a revocation.
      /RemindersService 127\.0\.0\.1:\d+ \(Go: grpc-go, sdk\/go\)\n +ReportsService +127\.0\.0\.1:\d+ \(Python: grpcio, sdk\/python\)\n/,
      /tasks → RemindersService\/SetReminder +allowed: reminder rem-1 for "Launch review[^"]*", set by tasks\n +✓/,
      /tasks → RemindersService\/DeleteReminder +PERMISSION_DENIED, missing reminder\.delete \(insufficient_scope: the token lacks the scopes this method requires\)\n +✓/,
      /Reminders \(Go\) learns it over WatchRevocations\n +tasks → RemindersService\/SetReminder +UNAUTHENTICATED \(invalid_token: the token has been revoked\)\n +✓/,
      /tasks → ReportsService\/SummarizeFile +allowed: report rep-1: release-notes\.md, 33 bytes, 3 line\(s\), for tasks\n +files: GetFile file-2 sub=reports\n +✓/,
      /tasks → ReportsService\/DeleteReport +PERMISSION_DENIED, missing report\.delete \(insufficient_scope: the token lacks the scopes this method requires\)\n +✓/,
      /Reports \(Python\) learns it over WatchRevocations\n +tasks → ReportsService\/SummarizeFile +UNAUTHENTICATED \(invalid_token: the token has been revoked\)\n +✓/,
    ];
    for (const pattern of expected) assert.match(stdout, pattern);
    // Files logged two reads: the delegated one (act: tasks), and Reports' with its own token (no act).
    assert.equal(stdout.match(/files: GetFile/g)?.length, 2);
    assert.equal(stdout.match(/✓ as scripted/g)?.length, 18);
    assert.doesNotMatch(stdout, /NOT as scripted/);
    assert.match(stdout, /all 18 outcomes as scripted\n/);
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
    assert.match(stdout, /1 of 18 outcomes NOT as scripted/);
  });

  test("the README shows the protect and call steps of the Go and Python services as they run", () => {
    const readme = docPages().filter((page) => page.path === "README.md");
    for (const [file, fence] of [
      ["examples/mesh/reminders/main.go", "go"],
      ["examples/mesh/reports/reports_service.py", "python"],
    ] as const) {
      const source = readFileSync(join(REPO_ROOT, file), "utf8");
      const regions = [...source.matchAll(/^[ \t]*(?:\/\/|#) \[START (\w+)\]\n([\s\S]*?)^[ \t]*(?:\/\/|#) \[END \1\]\n/gm)];
      assert.deepEqual(
        regions.map(([, name]) => name),
        ["protect", "call"],
        `${file} marks the regions the README shows`,
      );
      for (const [, name, text] of regions) {
        assert.ok(shownIn(readme, `\`\`\`${fence}\n${dedent(text!)}\`\`\``), `README.md must show the region ${name} of ${file} as it is`);
      }
    }
  });
});

/** The text with the indentation all its lines share removed (a region inside a function). */
function dedent(text: string): string {
  const lines = text.split("\n");
  const indents = lines.filter((line) => line.trim() !== "").map((line) => /^[ \t]*/.exec(line)![0].length);
  const common = Math.min(...indents);
  return lines.map((line) => line.slice(common)).join("\n");
}
