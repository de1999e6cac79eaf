// The Calendar service of the example mesh: an in-memory store of events.
// Its logic is written once (calendarStore); calendarConnect serves it with
// Connect, calendarGrpc on grpc-js through the protobuf-es bridge. Who calls
// comes from the verified token; what a caller may do is declared in
// calendar.proto and enforced by the interceptors before any handler runs.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { status } from "@grpc/grpc-js";
import { type CalendarService, EventSchema, type Event, type WatchEventsResponseSchema } from "../gen/example/calendar/v1/calendar_pb.js";
import { principal } from "../../src/connect.js";
import { grpcPrincipal, type GrpcServiceImpl } from "../../src/grpc.js";

/** Not found, in whichever framework's terms the adapter needs. */
class EventNotFound extends Error {}

/** The calendar's state and logic, framework-free. */
export function calendarStore() {
  const events = new Map<string, Event>();
  const listeners = new Set<(event: Event) => void>();
  let nextId = 1;
  const find = (id: string) => {
    const event = events.get(id);
    if (event === undefined) throw new EventNotFound(`no event ${id}`);
    return event;
  };
  return {
    list: () => [...events.values()],
    get: find,
    create(title: string, startUnix: bigint, createdBy: string): Event {
      const event = create(EventSchema, { id: `evt-${nextId++}`, title, startUnix, createdBy });
      events.set(event.id, event);
      for (const listener of listeners) listener(event);
      return event;
    },
    update(id: string, title: string): Event {
      const event = find(id);
      event.title = title;
      return event;
    },
    remove(id: string): void {
      find(id);
      events.delete(id);
    },
    /** Existing events, then each new one, until the signal aborts. */
    async *watch(signal: AbortSignal): AsyncIterable<MessageInitShape<typeof WatchEventsResponseSchema>> {
      const queue: Event[] = [...events.values()];
      let wake: (() => void) | undefined;
      const listener = (event: Event) => {
        queue.push(event);
        wake?.();
      };
      const onAbort = () => wake?.();
      listeners.add(listener);
      signal.addEventListener("abort", onAbort);
      try {
        while (!signal.aborted) {
          const event = queue.shift();
          if (event !== undefined) yield { event };
          else await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        listeners.delete(listener);
        signal.removeEventListener("abort", onAbort);
      }
    },
  };
}

type CalendarStore = ReturnType<typeof calendarStore>;

function connectErrors<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof EventNotFound) throw new ConnectError(err.message, Code.NotFound);
    throw err;
  }
}

/** CalendarService for Connect; the caller is principal(ctx). */
export function calendarConnect(store: CalendarStore = calendarStore()): ServiceImpl<typeof CalendarService> {
  return {
    listEvents: () => ({ events: store.list() }),
    getEvent: (req) => connectErrors(() => ({ event: store.get(req.id) })),
    createEvent: (req, ctx) => ({ event: store.create(req.title, req.startUnix, principal(ctx).clientId) }),
    updateEvent: (req) => connectErrors(() => ({ event: store.update(req.id, req.title) })),
    deleteEvent: (req) => connectErrors(() => (store.remove(req.id), {})),
    watchEvents: (_req, ctx) => store.watch(ctx.signal),
    ping: (req) => ({ text: req.text }),
  };
}

async function grpcErrors<T>(run: () => T): Promise<T> {
  try {
    return run();
  } catch (err) {
    if (err instanceof EventNotFound) throw { code: status.NOT_FOUND, details: err.message };
    throw err;
  }
}

/** CalendarService for grpc-js (bridgeService); the caller is grpcPrincipal(call). */
export function calendarGrpc(store: CalendarStore = calendarStore()): GrpcServiceImpl<typeof CalendarService> {
  return {
    listEvents: async () => ({ events: store.list() }),
    getEvent: (req) => grpcErrors(() => ({ event: store.get(req.id) })),
    createEvent: (req, call) => grpcErrors(() => ({ event: store.create(req.title, req.startUnix, grpcPrincipal(call)!.clientId) })),
    updateEvent: (req) => grpcErrors(() => ({ event: store.update(req.id, req.title) })),
    deleteEvent: (req) => grpcErrors(() => (store.remove(req.id), {})),
    watchEvents: (_req, call) => store.watch(call.signal),
    ping: async (req) => ({ text: req.text }),
  };
}
