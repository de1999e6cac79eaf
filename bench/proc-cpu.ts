import { readdirSync, readFileSync } from "node:fs";

/** CPU time (user + system) of a process in microseconds, from /proc/<pid>/stat (Linux; 10 ms ticks). */
export function processCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const ticksPerSecond = 100; // USER_HZ on Linux
  return ((utime + stime) * 1_000_000) / ticksPerSecond;
}

/**
 * CPU time of a process in microseconds with nanosecond resolution: the sum
 * of the on-CPU time of its threads (/proc/<pid>/task/<tid>/schedstat, field
 * 1), so libuv's pool threads (WebCrypto, zlib) count too. Time of threads
 * that already exited is lost, so a pool that shrinks would under-count;
 * Node's threads live as long as the process. Falls back to /proc/<pid>/stat.
 */
export function processCpuMicrosPrecise(pid: number): number {
  try {
    let nanos = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        nanos += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // The thread exited between the listing and the read.
      }
    }
    if (nanos > 0) return nanos / 1000;
  } catch {
    // No schedstat: fall through.
  }
  return processCpuMicros(pid);
}

/** Resident set size of a process in MiB, from /proc/<pid>/status. */
export function processRssMiB(pid: number): number {
  return statusKiB(pid, "VmRSS") / 1024;
}

/** Peak resident set size of a process in MiB (VmHWM). */
export function processPeakRssMiB(pid: number): number {
  return statusKiB(pid, "VmHWM") / 1024;
}

function statusKiB(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
}
