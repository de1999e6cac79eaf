// The demo's steps with the Go and Python services (polyglot.ts): Tasks (Node)
// calls each, which calls a Node service with its own token; each refuses a
// token without the method's scope; each refuses a token revoked at Tessera,
// learnt over WatchRevocations. demo.ts runs them after its own.
import { RemindersService } from "../gen/example/reminders/v1/reminders_pb.js";
import { ReportsService } from "../gen/example/reports/v1/reports_pb.js";
import type { Mesh } from "./mesh.js";
import type { Polyglot } from "./polyglot.js";

/** A step as demo.ts runs it (its Step, without what only Tasks' own clients report). */
export interface PolyglotStep {
  readonly story: string;
  readonly call: string;
  readonly run: () => Promise<string>;
  readonly expect: {
    readonly status: "allowed" | "UNAUTHENTICATED" | "PERMISSION_DENIED";
    readonly error?: string;
    readonly missing?: readonly string[];
    readonly result?: RegExp;
    readonly logs?: readonly string[];
  };
}

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

/** Tasks revokes a token of its own at Tessera's revocation endpoint (RFC 7009), authenticated by its workload token. */
async function revokeAsTasks(mesh: Mesh, token: string): Promise<void> {
  const res = await fetch(`${mesh.tessera.httpUrl}/oauth2/revoke`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      token,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: await mesh.tasks.workloadToken(),
    }),
    signal: AbortSignal.timeout(5000),
  });
  if (res.status !== 200) throw new Error(`revocation answered ${res.status}`);
}

/**
 * Sends `call` until it is refused, at most 2 s: the revocation reaches the
 * service's verifier over WatchRevocations a few ms after Tessera's 200 on
 * loopback, and until it does the token still passes.
 */
async function untilRefused(call: () => Promise<string>): Promise<string> {
  const deadline = Date.now() + 2000;
  for (;;) {
    const result = await call();
    if (Date.now() > deadline) return result;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** One of the services, as its steps use it. */
interface Service {
  /** "Reminders (Go)". */
  readonly name: string;
  readonly audience: string;
  /** The scope Tasks holds for it, and the method that needs it: `call`, with Tasks' token or the one given. */
  readonly scope: string;
  readonly method: string;
  call(options?: ReturnType<typeof bearer>): Promise<string>;
  /** A method that needs `missing`, which Tasks is not granted, and a call of it with the token given. */
  readonly missing: string;
  readonly other: string;
  callOther(options: ReturnType<typeof bearer>): Promise<unknown>;
}

/** The service refuses Tasks' token at a method that needs another scope, and then the token revoked. */
function refusals(mesh: Mesh, service: Service): PolyglotStep[] {
  const heldToken = () => mesh.tasks.tokens.get(service.audience, [service.scope]);
  const serviceName = service.audience.split(".").pop();
  return [
    {
      story: `Tasks sends the ${service.scope} token it holds to ${service.other}, without the interceptor: ${service.name} checks the scopes`,
      call: `tasks → ${serviceName}/${service.other}`,
      run: async () => {
        await service.callOther(bearer(await heldToken()));
        return "done";
      },
      expect: { status: "PERMISSION_DENIED", error: "insufficient_scope", missing: [service.missing] },
    },
    {
      story: `Tasks revokes its ${service.scope} token, then sends it: ${service.name} learns it over WatchRevocations`,
      call: `tasks → ${serviceName}/${service.method}`,
      run: async () => {
        const token = await heldToken();
        await revokeAsTasks(mesh, token);
        return untilRefused(() => service.call(bearer(token)));
      },
      expect: { status: "UNAUTHENTICATED", error: "invalid_token" },
    },
  ];
}

/** The steps; `eventId` is the event the demo's earlier steps created, `fileId` a file that exists. */
export function polyglotSteps(mesh: Mesh, polyglot: Polyglot, scenario: { eventId: () => string; fileId: string }): PolyglotStep[] {
  const { tasks, bare } = polyglot;
  const reminders: Service = {
    name: "Reminders (Go)",
    audience: RemindersService.typeName,
    scope: "reminder.set",
    method: "SetReminder",
    call: async (options) => {
      const { reminder } = await (options ? bare : tasks).reminders.setReminder({ eventId: scenario.eventId(), minutesBefore: 15n }, options);
      return `reminder ${reminder?.id} for "${reminder?.eventTitle}", set by ${reminder?.setBy}`;
    },
    missing: "reminder.delete",
    other: "DeleteReminder",
    callOther: (options) => bare.reminders.deleteReminder({ id: "rem-1" }, options),
  };
  const reports: Service = {
    name: "Reports (Python)",
    audience: ReportsService.typeName,
    scope: "report.create",
    method: "SummarizeFile",
    call: async (options) => {
      const { report } = await (options ? bare : tasks).reports.summarizeFile({ fileId: scenario.fileId }, options);
      return `report ${report?.id}: ${report?.fileName}, ${report?.bytes} bytes, ${report?.lines} line(s), for ${report?.requestedBy}`;
    },
    missing: "report.delete",
    other: "DeleteReport",
    callOther: (options) => bare.reports.deleteReport({ id: "rep-1" }, options),
  };
  return [
    {
      story: "Tasks (Node) sets a reminder in Reminders (Go, sdk/go); Reminders reads the event from Calendar (Node) with its own token",
      call: "tasks → RemindersService/SetReminder",
      run: () => reminders.call(),
      expect: { status: "allowed", result: /^reminder rem-1 for "Launch review[^"]*", set by tasks$/ },
    },
    ...refusals(mesh, reminders),
    {
      story: "Tasks (Node) asks Reports (Python, sdk/python) for a report; Reports reads the file from Files (Node) with its own token",
      call: "tasks → ReportsService/SummarizeFile",
      run: () => reports.call(),
      // Files logs the read: with Reports' own token (sub = reports), no actor.
      expect: { status: "allowed", result: /^report rep-1: release-notes\.md, 33 bytes, 3 line\(s\), for tasks$/, logs: ["files: GetFile file-2 sub=reports"] },
    },
    ...refusals(mesh, reports),
  ];
}
