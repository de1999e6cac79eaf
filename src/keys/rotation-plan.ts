import type { KeyRecord, KeyRingState } from "./key-record.js";

/** When keys change. */
export interface RotationPolicy {
  /** How long a key signs before the next one takes over. */
  rotationPeriodSeconds: number;
  /** How long a key is published before it may sign: longer than any verifier's JWKS cache and refetch cooldown. */
  leadTimeSeconds: number;
  /** How long a retired or revoked key's record is kept: the longest token lifetime plus clock skew. */
  retainSeconds: number;
}

/** Makes a new key record in state `next`, published at `now`. */
export type NewKeyRecord = (now: number) => Promise<KeyRecord>;

function replace(records: readonly KeyRecord[], kid: string, update: Partial<KeyRecord>): KeyRecord[] {
  return records.map((r) => (r.kid === kid ? { ...r, ...update } : r));
}

/**
 * When the standby key `next` starts signing in place of `active`: once the
 * rotation is due (the active key's period elapsed, or a rotation was
 * requested) and the standby has been published for the lead time. Epoch
 * seconds; planRotation takes the step at its first run from then on.
 */
export function activationTime(
  active: Pick<KeyRecord, "activatedAt" | "publishedAt">,
  next: Pick<KeyRecord, "publishedAt">,
  rotateRequestedAt: number | undefined,
  policy: Pick<RotationPolicy, "rotationPeriodSeconds" | "leadTimeSeconds">,
): number {
  // A requested rotation is due at once, even if the clock has gone back since the request.
  const due = rotateRequestedAt !== undefined ? Number.NEGATIVE_INFINITY : (active.activatedAt ?? active.publishedAt) + policy.rotationPeriodSeconds;
  return Math.max(due, next.publishedAt + policy.leadTimeSeconds);
}

/** The standby key that signs next: the earliest published in state `next`. */
export function earliestNext<R extends Pick<KeyRecord, "state" | "publishedAt">>(records: readonly R[]): R | undefined {
  return records.filter((r) => r.state === "next").sort((a, b) => a.publishedAt - b.publishedAt)[0];
}

/**
 * The scheduled step of a key ring at `now`, or undefined when nothing is due
 * (the caller stores it as the next version):
 * drop records past removeAt; make sure one key signs; promote the next key
 * once the rotation is due (period elapsed or requested) and it has been
 * published for the lead time; keep one next key published at all times, so
 * that a standby exists for an emergency and is already known to verifiers.
 */
export async function planRotation(state: KeyRingState, now: number, policy: RotationPolicy, newKey: NewKeyRecord): Promise<KeyRingState | undefined> {
  let records = state.records.filter((r) => r.removeAt === undefined || r.removeAt > now);
  let rotateRequestedAt = state.rotateRequestedAt;
  let changed = records.length !== state.records.length;

  let active = records.find((r) => r.state === "active");
  if (active === undefined) {
    const standby = earliestNext(records);
    if (standby !== undefined) {
      records = replace(records, standby.kid, { state: "active", activatedAt: now });
    } else {
      records = [...records, { ...(await newKey(now)), state: "active", activatedAt: now }];
    }
    active = records.find((r) => r.state === "active")!;
    changed = true;
  }

  const next = earliestNext(records);
  if (next !== undefined && now >= activationTime(active, next, rotateRequestedAt, policy)) {
    records = replace(records, active.kid, { state: "retired", endedAt: now, removeAt: now + policy.retainSeconds });
    records = replace(records, next.kid, { state: "active", activatedAt: now });
    rotateRequestedAt = undefined;
    changed = true;
  }

  if (earliestNext(records) === undefined) {
    records = [...records, await newKey(now)];
    changed = true;
  }

  if (!changed) return undefined;
  return { version: state.version, records, ...(rotateRequestedAt !== undefined ? { rotateRequestedAt } : {}) };
}

/** `keys rotate`: the next key takes over as soon as it has been published for the lead time. */
export function requestRotation(state: KeyRingState, now: number): KeyRingState {
  return { ...state, rotateRequestedAt: state.rotateRequestedAt ?? now };
}

/**
 * Emergency: the key is withdrawn from JWKS at once and its tokens are to be
 * rejected. If it was signing, the standby (next) key signs from now on; a
 * new standby is published by the next planRotation.
 */
export async function revokeKey(state: KeyRingState, kid: string, now: number, policy: RotationPolicy, newKey: NewKeyRecord): Promise<KeyRingState> {
  const record = state.records.find((r) => r.kid === kid);
  if (record === undefined) throw new Error(`no key ${kid} in the key ring`);
  if (record.state === "revoked") return state;
  let records = replace(state.records, kid, { state: "revoked", endedAt: now, removeAt: now + policy.retainSeconds });
  if (record.state === "active") {
    const standby = earliestNext(records);
    records =
      standby !== undefined
        ? replace(records, standby.kid, { state: "active", activatedAt: now })
        : [...records, { ...(await newKey(now)), state: "active", activatedAt: now }];
  }
  return { ...state, records };
}

/**
 * After the stored ring was lost, replaced or went back: `observed` with what
 * `known` (this replica's last copy) holds and it lacks, or undefined when it
 * lacks nothing. A live record it lacks is added as it was, except that a key
 * that signed becomes retired when the ring has an active key of its own (one
 * key signs; the other stays published until its tokens expired). A key
 * revoked in `known` is revoked in the result too: an emergency revocation is
 * never undone by a data loss.
 */
export async function mergeLostRecords(
  observed: KeyRingState,
  known: KeyRingState,
  now: number,
  policy: RotationPolicy,
  newKey: NewKeyRecord,
): Promise<KeyRingState | undefined> {
  const live = known.records.filter((r) => r.removeAt === undefined || r.removeAt > now);
  const hasActive = observed.records.some((r) => r.state === "active");
  const missing = live.filter((r) => !observed.records.some((o) => o.kid === r.kid));
  let state: KeyRingState = {
    ...observed,
    records: [
      ...observed.records,
      ...missing.map((r) => (r.state === "active" && hasActive ? { ...r, state: "retired" as const, endedAt: now, removeAt: now + policy.retainSeconds } : r)),
    ],
  };
  let changed = missing.length > 0;
  for (const record of live) {
    if (record.state !== "revoked") continue;
    const present = state.records.find((r) => r.kid === record.kid);
    if (present !== undefined && present.state !== "revoked") {
      state = await revokeKey(state, record.kid, now, policy, newKey);
      changed = true;
    }
  }
  return changed ? state : undefined;
}
