// The Tasks service of the example mesh, served with Connect. Scheduling a
// task reads the task's file from Files (grpc-js) and puts an event on the
// Calendar (Connect), calling both with Tasks' own tokens: the clients it is
// given carry the token interceptors (see mesh.ts), so this code never touches
// a token. Who may schedule is declared in tasks.proto (task.schedule).
import { Code, ConnectError, type Client, type ServiceImpl } from "@connectrpc/connect";
import { principal } from "tessera/connect";
import type { CalendarService } from "../gen/example/calendar/v1/calendar_pb.js";
import type { TasksService } from "../gen/example/tasks/v1/tasks_pb.js";
import type { FilesClient } from "./files-client.js";

/** The services Tasks calls, as clients that attach Tasks' tokens. */
export interface TasksDownstream {
  calendar: Client<typeof CalendarService>;
  files: FilesClient;
}

/** A failure of a service Tasks depends on, reported to Tasks' caller with the same code. */
function downstreamError(service: string, err: unknown): ConnectError {
  if (err instanceof ConnectError) return new ConnectError(`${service}: ${err.rawMessage}`, err.code);
  const { code, details } = err as { code?: unknown; details?: unknown };
  if (typeof code === "number" && code > 0 && code <= 16) return new ConnectError(`${service}: ${String(details)}`, code as Code);
  return new ConnectError(`${service}: ${String(err)}`, Code.Internal);
}

async function call<T>(service: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw downstreamError(service, err);
  }
}

/** TasksService for Connect; the caller is principal(ctx). */
export function tasksConnect({ calendar, files }: TasksDownstream): ServiceImpl<typeof TasksService> {
  return {
    async scheduleTask(req, ctx) {
      if (req.fileId === "") throw new ConnectError("file_id is required", Code.InvalidArgument);
      const file = await call("files", () => files.getFile(req.fileId));
      const title = req.title || file.name;
      const { event } = await call("calendar", () =>
        calendar.createEvent({ title: `${title} (for ${principal(ctx).clientId})`, startUnix: req.startUnix }, { signal: ctx.signal }),
      );
      if (event === undefined) throw new ConnectError("calendar: no event returned", Code.Internal);
      return { eventId: event.id, fileName: file.name };
    },
  };
}
