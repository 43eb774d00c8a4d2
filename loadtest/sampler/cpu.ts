import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";

/**
 * CPU time a process has used (user + system), from /proc/<pid>/stat: the numbers
 * behind "throughput per core" (requests per CPU-second actually spent).
 */
let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime in seconds from the text of /proc/<pid>/stat. Pure apart from CLK_TCK. */
export function parseCpuSeconds(stat: string, ticks = ticksPerSecond()): number {
  // the command name (field 2) may contain spaces and parentheses: fields resume after the last ')'
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticks;
}

/** Total CPU seconds of the given pids (processes that are gone count 0). */
export async function cpuSeconds(pids: number[]): Promise<number> {
  const each = await Promise.all(
    pids.map((pid) =>
      readFile(`/proc/${pid}/stat`, "utf8").then(
        (stat) => parseCpuSeconds(stat),
        () => 0,
      ),
    ),
  );
  return each.reduce((a, b) => a + b, 0);
}
