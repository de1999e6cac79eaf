import type { KeyRecord, KeyRingState } from "../keys/key-record.js";
import { activationTime, earliestNext } from "../keys/rotation-plan.js";

/** The rotation settings that decide when the standby key starts signing. */
export interface RotationTimes {
  periodSeconds: number;
  leadTimeSeconds: number;
}

/** The next scheduled (or requested) promotion of the standby key. */
export interface NextActivation {
  /** The key that is signing now. */
  active: Pick<KeyRecord, "kid" | "activatedAt" | "publishedAt">;
  /** The standby key that will sign next. */
  standby: Pick<KeyRecord, "kid" | "publishedAt">;
  /** Epoch seconds from which it signs: a server takes the step at its first schedule check from then on. */
  at: number;
  /** Epoch seconds of a pending `keys rotate`, if one is. */
  requestedAt?: number;
}

/** When the standby key starts signing (activationTime, the rule planRotation applies), for `keys list` and `keys rotate`. */
export function nextActivation(state: Pick<KeyRingState, "records" | "rotateRequestedAt">, times: RotationTimes): NextActivation | undefined {
  const active = state.records.find((r) => r.state === "active");
  const standby = earliestNext(state.records);
  if (active === undefined || standby === undefined) return undefined;
  const policy = { rotationPeriodSeconds: times.periodSeconds, leadTimeSeconds: times.leadTimeSeconds };
  return {
    active,
    standby,
    at: Math.max(state.rotateRequestedAt ?? Number.NEGATIVE_INFINITY, activationTime(active, standby, state.rotateRequestedAt, policy)),
    ...(state.rotateRequestedAt !== undefined ? { requestedAt: state.rotateRequestedAt } : {}),
  };
}

export function isoTime(seconds: number | undefined): string {
  return seconds === undefined ? "-" : new Date(seconds * 1000).toISOString();
}

/** One line per key, as `keys list` prints them. */
export function keyLines(records: readonly Omit<KeyRecord, "sealed" | "publicJwk">[]): string {
  return records
    .map(
      (r) =>
        `${r.kid}  ${r.alg}  ${r.state.padEnd(7)}  published ${isoTime(r.publishedAt)}  activated ${isoTime(r.activatedAt)}  ended ${isoTime(r.endedAt)}\n`,
    )
    .join("");
}
