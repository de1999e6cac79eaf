import type { MessageInitShape } from "@bufbuild/protobuf";
import { NotFoundError } from "../errors/tessera-error.js";
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthCheckRequest,
  type HealthCheckResponseSchema,
  type HealthListResponseSchema,
} from "../../gen/grpc/health/v1/health_pb.js";

/** Serving status per service name ("" is the whole server), with change notification for Watch. */
export class HealthState {
  readonly #statuses = new Map<string, ServingStatus>();
  readonly #listeners = new Set<() => void>();

  set(service: string, status: ServingStatus): void {
    this.#statuses.set(service, status);
    for (const listener of this.#listeners) listener();
  }

  get(service: string): ServingStatus | undefined {
    return this.#statuses.get(service);
  }

  entries(): [string, ServingStatus][] {
    return [...this.#statuses];
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** grpc.health.v1.Health handlers over a HealthState; no transport code. */
export function healthHandlers(state: HealthState) {
  return {
    async check(req: HealthCheckRequest): Promise<MessageInitShape<typeof HealthCheckResponseSchema>> {
      const status = state.get(req.service);
      // grpc.health.v1: Check of an unknown service fails with NOT_FOUND; Watch reports SERVICE_UNKNOWN.
      if (status === undefined) throw new NotFoundError("unknown service");
      return { status };
    },
    async list(): Promise<MessageInitShape<typeof HealthListResponseSchema>> {
      return { statuses: Object.fromEntries(state.entries().map(([name, status]) => [name, { status }])) };
    },
    async *watch(req: HealthCheckRequest, call: { signal: AbortSignal }): AsyncIterable<MessageInitShape<typeof HealthCheckResponseSchema>> {
      let changed: () => void = () => {};
      const unsubscribe = state.onChange(() => changed());
      const aborted = () => changed();
      call.signal.addEventListener("abort", aborted);
      try {
        let last: ServingStatus | undefined;
        while (!call.signal.aborted) {
          const status = state.get(req.service) ?? ServingStatus.SERVICE_UNKNOWN;
          if (status !== last) {
            last = status;
            yield { status };
          }
          await new Promise<void>((resolve) => (changed = resolve));
        }
      } finally {
        unsubscribe();
        call.signal.removeEventListener("abort", aborted);
      }
    },
  };
}

export { ServingStatus };
