// `npm run demo`: the seed scenario on the example mesh. Starts Tessera and the
// Calendar, Files and Tasks services (mesh.ts) and the Reminders (Go) and
// Reports (Python) services (polyglot.ts), makes the scripted calls,
// prints each with its outcome (and what the services logged meanwhile),
// stops everything, and exits 0 only when every outcome is the one scripted.
import { rmSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { Http2SessionManager, createConnectTransport } from "@connectrpc/connect-node";
import { status, type ServiceError } from "@grpc/grpc-js";
import { decodeJwt } from "jose";
import { TesseraError } from "tessera";
import type { TokenSource } from "tessera/client";
import { tokenInterceptor } from "tessera/connect";
import { authErrorDetail } from "tessera/grpc";
import { CalendarService } from "../gen/example/calendar/v1/calendar_pb.js";
import { TasksService } from "../gen/example/tasks/v1/tasks_pb.js";
import { AuthErrorDetailSchema, type AuthErrorDetail } from "../../gen/tessera/v1/token_service_pb.js";
import { startMesh, type OutboundCall } from "./mesh.js";
import { buildPolyglot, startPolyglot, type Polyglot } from "./polyglot.js";
import { polyglotSteps } from "./polyglot-steps.js";

const CALENDAR = CalendarService.typeName;
const TASKS = TasksService.typeName;
const DEMO_TIMEOUT_MS = 30_000;

/** How a call ended: "allowed", or the gRPC status name with the AuthErrorDetail the error carried. */
interface Outcome {
  readonly status: string;
  readonly detail?: AuthErrorDetail | undefined;
  /** For an allowed call: what it returned, in words. */
  readonly result?: string;
}

interface Expected {
  readonly status: "allowed" | "UNAUTHENTICATED" | "PERMISSION_DENIED";
  /** The AuthErrorDetail's error code. */
  readonly error?: string;
  /** The AuthErrorDetail's required_scopes: what the caller is missing. */
  readonly missing?: readonly string[];
  /** For an allowed call: its result must match. */
  readonly result?: RegExp;
  /** The RPCs Tasks sent meanwhile ("CalendarService/CreateEvent OK"). */
  readonly calls?: readonly string[];
  /** What the services logged meanwhile ("files: GetFile file-1 sub=planner act={...}"). */
  readonly logs?: readonly string[];
}

interface Step {
  /** What happens, in words. */
  readonly story: string;
  /** "planner → TasksService/ScheduleTask". */
  readonly call: string;
  readonly run: () => Promise<string>;
  readonly expect: Expected;
}

function outcomeOf(err: unknown): Outcome {
  // Tessera refused a token request made here (no call was sent): the same detail an interceptor would attach.
  if (err instanceof TesseraError) {
    const detail = create(AuthErrorDetailSchema, { error: err.error, errorDescription: err.message, requiredScopes: [...err.requiredScopes] });
    return { status: status[err.grpcCode] ?? String(err.grpcCode), detail };
  }
  if (err instanceof ConnectError) return { status: status[err.code] ?? String(err.code), detail: err.findDetails(AuthErrorDetailSchema)[0] };
  const grpc = err as Partial<ServiceError>;
  if (typeof grpc.code === "number" && grpc.metadata !== undefined)
    return { status: status[grpc.code] ?? String(grpc.code), detail: authErrorDetail(grpc.metadata) };
  throw err;
}

function describe(outcome: Outcome): string {
  if (outcome.status === "allowed") return `allowed: ${outcome.result}`;
  const detail = outcome.detail;
  if (detail === undefined) return outcome.status;
  const missing = detail.requiredScopes.length > 0 ? `, missing ${detail.requiredScopes.join(" ")}` : "";
  // invalid_scope / invalid_target: Tessera refused to issue the token, the call was never sent.
  const who = detail.error === "invalid_scope" || detail.error === "invalid_target" ? "Tessera refused the token" : detail.errorDescription;
  return `${outcome.status}${missing} (${detail.error}: ${who})`;
}

function mismatches(outcome: Outcome, calls: readonly string[], logs: readonly string[], expected: Expected): string[] {
  const problems: string[] = [];
  if (outcome.status !== expected.status) problems.push(`expected ${expected.status}`);
  if (expected.error !== undefined && outcome.detail?.error !== expected.error) problems.push(`expected error ${expected.error}`);
  if (expected.missing !== undefined && (outcome.detail?.requiredScopes ?? []).join(" ") !== expected.missing.join(" ")) {
    problems.push(`expected missing ${expected.missing.join(" ")}`);
  }
  if (expected.result !== undefined && !expected.result.test(outcome.result ?? "")) problems.push(`expected a result matching ${expected.result}`);
  if (expected.calls !== undefined && calls.join(", ") !== expected.calls.join(", ")) {
    problems.push(`expected Tasks to send [${expected.calls.join(", ")}]`);
  }
  if (expected.logs !== undefined && logs.join("\n") !== expected.logs.join("\n")) problems.push(`expected the logs [${expected.logs.join(", ")}]`);
  return problems;
}

// Bounded, and no temporary configuration left behind when interrupted.
let meshDir: string | undefined;
const abandon = (why: string, code: number) => {
  console.error(`demo: ${why}`);
  if (meshDir !== undefined) rmSync(meshDir, { recursive: true, force: true });
  process.exit(code);
};
// The Go and Python services: built before the clock starts (the first time takes a while, then it is cached).
const polyglotBuild = buildPolyglot();
setTimeout(() => abandon(`no end after ${DEMO_TIMEOUT_MS} ms`, 2), DEMO_TIMEOUT_MS).unref();
process.once("SIGINT", () => abandon("interrupted", 130));
process.once("SIGTERM", () => abandon("terminated", 143));

// MESH_CONFIG: another configuration than examples/mesh/tessera.yaml, e.g. to see the script catch a wider grant.
const configFile = process.env.MESH_CONFIG;
const mesh = await startMesh({
  files: [
    { name: "launch-plan.md", content: new TextEncoder().encode("# Launch plan\n") },
    { name: "release-notes.md", content: new TextEncoder().encode("# Release notes\n\n- polyglot mesh\n") }, // file-2: Reports' (Python)
  ],
  ...(configFile ? { configFile } : {}),
});
meshDir = mesh.dir;
const sessions: Http2SessionManager[] = [];
function transport(baseUrl: string, tokens?: TokenSource): Transport {
  const sessionManager = new Http2SessionManager(baseUrl);
  sessions.push(sessionManager);
  const interceptors: Interceptor[] = tokens === undefined ? [] : [tokenInterceptor({ tokens })];
  return createConnectTransport({ baseUrl, httpVersion: "2", sessionManager, defaultTimeoutMs: 5000, interceptors });
}

let failed = 0;
let polyglot: Polyglot | undefined;
try {
  polyglot = await startPolyglot(mesh, polyglotBuild);
  const { tessera } = mesh;
  console.log("Example mesh (one process, 127.0.0.1 only):");
  console.log(`  Tessera          ${tessera.httpUrl} (OAuth, Connect), ${tessera.grpcAddress} (gRPC); config ${mesh.configFile}`);
  console.log(`  CalendarService  ${mesh.calendarUrl} (Connect)`);
  console.log(`  FilesService     ${mesh.filesAddress} (grpc-js)`);
  console.log(`  TasksService     ${mesh.tasksUrl} (Connect)`);
  console.log(`  RemindersService ${polyglot.remindersAddress} (Go: grpc-go, sdk/go)`);
  console.log(`  ReportsService   ${polyglot.reportsAddress} (Python: grpcio, sdk/python)`);
  console.log("  tasks authenticates with a Kubernetes-style projected service-account token (no secret); the others with generated secrets");
  console.log("");

  const planner = mesh.tokens("planner");
  const viewer = mesh.tokens("viewer");
  const plannerTasks = createClient(TasksService, transport(mesh.tasksUrl, planner));
  const viewerTasks = createClient(TasksService, transport(mesh.tasksUrl, viewer));
  const viewerCalendar = createClient(CalendarService, transport(mesh.calendarUrl, viewer));
  const bareCalendar = createClient(CalendarService, transport(mesh.calendarUrl));
  const bareTasks = createClient(TasksService, transport(mesh.tasksUrl));
  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

  let eventId = "";
  let revokedToken = "";
  const steps: Step[] = [
    {
      story: "Tasks gets a token with its workload token (sent as client_assertion), no secret",
      call: "tasks → POST /oauth2/token",
      run: async () => {
        const workload = decodeJwt(await mesh.tasks.workloadToken());
        const token = decodeJwt(await mesh.tasks.tokens.get(CALENDAR, ["event.view"]));
        return `client_id ${token.client_id} for ${token.aud}, as ${workload.sub} of ${workload.iss}`;
      },
      expect: {
        status: "allowed",
        result:
          /^client_id tasks for example\.calendar\.v1\.CalendarService, as system:serviceaccount:mesh:tasks of https:\/\/kubernetes\.default\.svc\.cluster\.local$/,
      },
    },
    {
      story: "planner schedules a task; Tasks reads the file on planner's behalf (token exchange), creates the event with its own token",
      call: "planner → TasksService/ScheduleTask",
      run: async () => {
        const res = await plannerTasks.scheduleTask({ title: "Launch review", fileId: "file-1", startUnix: 1_767_225_600n });
        eventId = res.eventId;
        return `event ${res.eventId}, file ${res.fileName}`;
      },
      expect: {
        status: "allowed",
        result: /^event evt-1, file launch-plan\.md$/,
        calls: ["FilesService/GetFile OK (for caller)", "CalendarService/CreateEvent OK"],
        logs: ['files: GetFile file-1 sub=planner act={"sub":"tasks"}'],
      },
    },
    {
      story: "Tasks asks for event.create on planner's behalf: its own grant has it, planner's token does not, and scopes only shrink",
      call: "tasks for planner → CalendarService/CreateEvent",
      run: async () => {
        const plannerToken = await planner.get(TASKS, ["task.schedule", "file.view"]);
        const token = await mesh.tasks.onBehalf.get(plannerToken, CALENDAR, ["event.create"]);
        await bareCalendar.createEvent({ title: "Escalated" }, bearer(token));
        return "created";
      },
      expect: { status: "PERMISSION_DENIED", error: "invalid_scope", calls: [] },
    },
    {
      story: "the event was created by Tasks, as its token says",
      call: "viewer → CalendarService/GetEvent",
      run: async () => `created_by ${(await viewerCalendar.getEvent({ id: eventId })).event?.createdBy}`,
      expect: { status: "allowed", result: /^created_by tasks$/ },
    },
    {
      story: "Tasks tries to delete the event: its grant has no event.delete",
      call: "tasks → CalendarService/DeleteEvent",
      run: async () => (await mesh.tasks.calendar.deleteEvent({ id: eventId }), "deleted"),
      expect: { status: "PERMISSION_DENIED", error: "invalid_scope", missing: ["event.delete", "calendar.owner"], calls: [] },
    },
    {
      story: "Tasks tries to delete the file: its grant has no file.delete",
      call: "tasks → FilesService/DeleteFile",
      run: async () => (await mesh.tasks.files.deleteFile("file-1"), "deleted"),
      expect: { status: "PERMISSION_DENIED", error: "invalid_scope", missing: ["file.delete"], calls: [] },
    },
    {
      story: "Tasks sends the event.view token it holds to DeleteEvent, without the interceptor: Calendar checks the scopes",
      call: "tasks → CalendarService/DeleteEvent",
      run: async () => {
        const token = await mesh.tasks.tokens.get(CALENDAR, ["event.view"]);
        await bareCalendar.deleteEvent({ id: eventId }, bearer(token));
        return "deleted";
      },
      expect: { status: "PERMISSION_DENIED", error: "insufficient_scope", missing: ["event.delete", "calendar.owner"] },
    },
    {
      story: "a call without a token",
      call: "(no token) → CalendarService/ListEvents",
      run: async () => `${(await bareCalendar.listEvents({})).events.length} events`,
      expect: { status: "UNAUTHENTICATED", error: "invalid_token" },
    },
    {
      story: "Tasks revokes its event.view token (POST /oauth2/revoke, authenticated by its workload token), then sends it",
      call: "tasks → CalendarService/ListEvents",
      run: async () => {
        revokedToken = await mesh.tasks.tokens.get(CALENDAR, ["event.view"]);
        const res = await fetch(`${tessera.httpUrl}/oauth2/revoke`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            token: revokedToken,
            client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            client_assertion: await mesh.tasks.workloadToken(),
          }),
          signal: AbortSignal.timeout(5000),
        });
        if (res.status !== 200) throw new Error(`revocation answered ${res.status}`);
        // The revocation reaches Calendar's verifier over WatchRevocations, a few ms after the 200 on loopback:
        // until it does, the token still passes. Calls keep going (at most 2 s) until it is refused.
        const deadline = Date.now() + 2000;
        for (;;) {
          const events = (await bareCalendar.listEvents({}, bearer(revokedToken))).events.length;
          if (Date.now() > deadline) return `${events} events`;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      },
      expect: { status: "UNAUTHENTICATED", error: "invalid_token" },
    },
    {
      story: "Tasks lists events through its interceptor: the revoked token is refused, the interceptor retries once with a new one",
      call: "tasks → CalendarService/ListEvents",
      run: async () => {
        const { events } = await mesh.tasks.calendar.listEvents({});
        const fresh = await mesh.tasks.tokens.get(CALENDAR, ["event.view"]);
        return `${events.length} event(s), with a new token: ${fresh !== revokedToken}`;
      },
      expect: {
        status: "allowed",
        result: /^1 event\(s\), with a new token: true$/,
        calls: ["CalendarService/ListEvents UNAUTHENTICATED", "CalendarService/ListEvents OK"],
      },
    },
    {
      story: "viewer, which has no task.schedule, tries to schedule a task",
      call: "viewer → TasksService/ScheduleTask",
      run: async () => (await viewerTasks.scheduleTask({ title: "Sneaky", fileId: "file-1" })).eventId,
      expect: { status: "PERMISSION_DENIED", error: "invalid_target", missing: ["task.schedule", "file.view"], calls: [] },
    },
    {
      story: "viewer sends its calendar token to Tasks instead: Tasks checks the audience and scopes",
      call: "viewer → TasksService/ScheduleTask",
      run: async () => {
        const token = await viewer.get(CALENDAR, ["event.view"]);
        return (await bareTasks.scheduleTask({ title: "Sneaky", fileId: "file-1" }, bearer(token))).eventId;
      },
      expect: { status: "PERMISSION_DENIED", error: "insufficient_scope", missing: ["task.schedule", "file.view"], calls: [] },
    },
  ];
  steps.push(...polyglotSteps(mesh, polyglot, { eventId: () => eventId, fileId: "file-2" }));

  const calls: OutboundCall[] = [];
  const logs: string[] = [];
  mesh.onOutboundCall((call) => calls.push(call));
  mesh.onServiceLog(({ service, line }) => logs.push(`${service}: ${line}`));
  for (const [i, step] of steps.entries()) {
    calls.length = 0;
    logs.length = 0;
    let outcome: Outcome;
    try {
      outcome = { status: "allowed", result: await step.run() };
    } catch (err) {
      outcome = outcomeOf(err);
    }
    const sent = calls.map((c) => `${c.method} ${c.status}${c.onBehalf ? " (for caller)" : ""}`);
    const problems = mismatches(outcome, sent, logs, step.expect);
    if (problems.length > 0) failed++;
    console.log(`${String(i + 1).padStart(2)}. ${step.story}`);
    console.log(`    ${step.call.padEnd(48)} ${describe(outcome)}`);
    for (const call of calls) {
      const from = call.onBehalf ? `${call.from} for caller` : call.from;
      console.log(`      ${`${from} → ${call.method}`.padEnd(46)} ${call.status === "OK" ? "allowed" : call.status}`);
    }
    for (const line of logs) console.log(`      ${line}`);
    console.log(problems.length === 0 ? "    ✓ as scripted" : `    ✗ NOT as scripted: ${problems.join("; ")}`);
  }
  console.log("");
  console.log(failed === 0 ? `all ${steps.length} outcomes as scripted` : `${failed} of ${steps.length} outcomes NOT as scripted`);
} catch (err) {
  failed++;
  console.error("demo failed:", err);
} finally {
  for (const s of sessions) s.abort();
  await polyglot?.stop();
  await mesh.stop();
}
process.exit(failed === 0 ? 0 : 1);
