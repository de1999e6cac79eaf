import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isoTimeFormatter } from "../../src/internal/iso-time.js";

describe("isoTimeFormatter", () => {
  it("writes what toISOString writes, across seconds, years and fractions", () => {
    const format = isoTimeFormatter();
    const samples = [
      0, 1, 9, 10, 99, 100, 999, 1000, 1001, 1_764_504_000_000, 1_764_504_000_001, 1_764_504_000_999, 1_764_504_001_000, 1_764_504_000_123.9, -1, -999, -1000,
      -1001, -62_135_596_800_000, 253_402_300_799_999, 253_402_300_800_000, -62_167_219_200_001, 8.64e15, -8.64e15,
    ];
    for (const ms of samples) assert.equal(format(ms), new Date(ms).toISOString(), `at ${ms}`);
    // Back and forth within and across seconds, as interleaved requests do.
    for (let i = 0; i < 5000; i++) {
      const ms = 1_764_504_000_000 + ((i * 7919) % 4000) - 2000;
      assert.equal(format(ms), new Date(ms).toISOString(), `at ${ms}`);
    }
  });

  it("refuses what Date refuses", () => {
    const format = isoTimeFormatter();
    assert.throws(() => format(Number.NaN), RangeError);
    assert.throws(() => format(8.64e15 + 1), RangeError);
  });
});
