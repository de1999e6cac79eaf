// 7. Memory: resident set size of the Tessera processes when idle (started,
//    nothing served yet) and after the load of the other sections.
import type { BenchEnv } from "../lib/env.js";
import { fmtNumber, type Report } from "../lib/report.js";
import { processPeakRssMiB, processRssMiB } from "../proc-cpu.js";

export interface IdleMemory {
  readonly tessera: number;
  readonly tesseraRedis: number;
  readonly oidc: number;
  readonly floor: number;
}

/** RSS of the servers before any load. */
export function sampleIdleMemory(env: BenchEnv): IdleMemory {
  return {
    tessera: processRssMiB(env.tessera.pid),
    tesseraRedis: processRssMiB(env.tesseraRedis.pid),
    oidc: processRssMiB(env.oidc.pid),
    floor: processRssMiB(env.floor.pid),
  };
}

export function memorySection(env: BenchEnv, report: Report, idle: IdleMemory): void {
  const row = (id: "memory/tessera" | "memory/tessera-redis", label: string, pid: number, idleMiB: number) =>
    report.row({
      id,
      label,
      cells: [
        ["RSS idle MiB", fmtNumber(idleMiB, 1)],
        ["RSS after load MiB", fmtNumber(processRssMiB(pid), 1)],
        ["peak RSS MiB", fmtNumber(processPeakRssMiB(pid), 1)],
      ],
      series: { idle: [idleMiB], after: [processRssMiB(pid)], peak: [processPeakRssMiB(pid)] },
      note: `for comparison, after load: oidc-provider ${fmtNumber(processRssMiB(env.oidc.pid), 1)} MiB (idle ${fmtNumber(idle.oidc, 1)}), floor ${fmtNumber(processRssMiB(env.floor.pid), 1)} MiB (idle ${fmtNumber(idle.floor, 1)})`,
    });
  row("memory/tessera", "Tessera process, memory store", env.tessera.pid, idle.tessera);
  row("memory/tessera-redis", "Tessera process, Redis store", env.tesseraRedis.pid, idle.tesseraRedis);
}
