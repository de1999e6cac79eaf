// The Tasks service of the example mesh, served with Connect. Scheduling a
// task reads the task's file from Files (grpc-js) on behalf of the caller and
// puts an event on the Calendar (Connect) with Tasks' own token. Who may
// schedule is declared in tasks.proto (task.schedule, and file.view for the
// read on the caller's behalf).
//
// On the caller's behalf: Tasks exchanges the caller's token for one meant for
// Files (RFC 8693, DelegatedTokenSource). That token is about the caller
// (`sub`), names Tasks as the actor (`act`), and carries only scopes both the
// caller's token and Tasks' grant hold: Tasks cannot read a file for a caller
// who may not read it, and the caller gains nothing of Tasks' own power.
import { Code, ConnectError, type Client, type ServiceImpl } from "@connectrpc/connect";
import { bearerToken, TesseraError } from "tessera";
import type { DelegatedTokenSource } from "tessera/client";
import { principal } from "tessera/connect";
import type { CalendarService } from "../gen/example/calendar/v1/calendar_pb.js";
import { FilesService } from "../gen/example/files/v1/files_pb.js";
import type { TasksService } from "../gen/example/tasks/v1/tasks_pb.js";
import type { FilesClient } from "./files-client.js";

/** The services Tasks calls. */
export interface TasksDownstream {
  /** A Calendar client that attaches Tasks' own tokens (tokenInterceptor). */
  calendar: Client<typeof CalendarService>;
  /** A Files client without a token interceptor: Tasks attaches the token exchanged for its caller. */
  files: FilesClient;
  /** Tokens exchanged on behalf of Tasks' callers (tokenExchangeFetcher, as Tasks). */
  onBehalf: DelegatedTokenSource;
}

/** A failure of a service Tasks depends on (or of the exchange), reported to Tasks' caller with the same code. */
function downstreamError(service: string, err: unknown): ConnectError {
  if (err instanceof ConnectError) return new ConnectError(`${service}: ${err.rawMessage}`, err.code);
  if (err instanceof TesseraError)
    return new ConnectError(`${service}: Tessera refused the exchange (${err.error}): ${err.message}`, err.grpcCode as number as Code);
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

/** TasksService for Connect; the caller is principal(ctx), its token the request's bearer token. */
export function tasksConnect({ calendar, files, onBehalf }: TasksDownstream): ServiceImpl<typeof TasksService> {
  return {
    async scheduleTask(req, ctx) {
      if (req.fileId === "") throw new ConnectError("file_id is required", Code.InvalidArgument);
      // The interceptor verified this token before the handler ran.
      const callerToken = bearerToken(ctx.requestHeader.get("authorization"));
      if (callerToken === undefined) throw new ConnectError("no bearer token", Code.Unauthenticated);
      const file = await call("files", async () => {
        const token = await onBehalf.get(callerToken, FilesService.typeName, ["file.view"]);
        return files.getFile(req.fileId, { headers: { authorization: `Bearer ${token}` } });
      });
      const title = req.title || file.name;
      const { event } = await call("calendar", () =>
        calendar.createEvent({ title: `${title} (for ${principal(ctx).subject})`, startUnix: req.startUnix }, { signal: ctx.signal }),
      );
      if (event === undefined) throw new ConnectError("calendar: no event returned", Code.Internal);
      return { eventId: event.id, fileName: file.name };
    },
  };
}
