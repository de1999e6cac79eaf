/**
 * A formatter of epoch milliseconds as `Date.prototype.toISOString` writes them
 * (`2026-11-30T12:00:00.000Z`), remembering the last second it formatted: an
 * audit line per token asks for the same second thousands of times, and
 * toISOString costs more than the line's JSON. One per caller (the memory is a
 * single second, which two interleaved users would keep evicting).
 */
export function isoTimeFormatter(): (ms: number) => string {
  let second = Number.NaN;
  let prefix = "";
  return (ms) => {
    // As Date does (TimeClip): fractions of a millisecond are cut toward zero.
    const t = Math.trunc(ms);
    const s = Math.floor(t / 1000);
    if (s !== second) {
      const iso = new Date(s * 1000).toISOString();
      // Years outside 0000–9999 take the extended form (±YYYYYY); left to Date.
      if (iso.length !== 24) return new Date(t).toISOString();
      second = s;
      prefix = iso.slice(0, 20);
    }
    const millis = t - s * 1000;
    return `${prefix}${millis < 10 ? "00" : millis < 100 ? "0" : ""}${millis}Z`;
  };
}
