/**
 * Open-file limit check before opening many connections: this process and the control plane
 * it starts (which inherits the limit) each hold one descriptor per simulated node.
 */
import { readFile } from "node:fs/promises";
import { LoadtestError } from "../errors.ts";

/** The soft "Max open files" of /proc/<pid>/limits text; undefined when absent or unlimited. Pure. */
export function parseOpenFilesLimit(limits: string): number | undefined {
  const line = limits.split("\n").find((l) => l.startsWith("Max open files"));
  const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
  return soft === undefined || soft === "unlimited" ? undefined : Number(soft);
}

/** Throws a clear error when `needed` descriptors do not fit this process's soft limit. */
export async function assertOpenFiles(needed: number, what: string): Promise<void> {
  const text = await readFile("/proc/self/limits", "utf8").catch(() => "");
  const soft = parseOpenFilesLimit(text);
  if (soft !== undefined && soft < needed)
    throw new LoadtestError(
      "CORRAL_LOADTEST_BAD_PARAM",
      `${what} needs about ${needed} open files but this process may open ${soft} (ulimit -n); ` +
        `raise it (e.g. \`ulimit -n ${Math.max(4096, needed * 2)}\` in the shell that runs the load test) or lower --nodes`,
    );
}
