/** A source of the current time, injected so that time rules can be tested with a frozen clock. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Whole seconds since the Unix epoch, the unit of JWT NumericDate claims. */
export function epochSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}
