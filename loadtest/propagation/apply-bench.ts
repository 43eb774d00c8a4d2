/**
 * The data plane's apply of a large snapshot, measured by its own bench
 * (data-plane/bench/apply-100k.ts: filesystem blob store -> LATEST -> the node's applier and
 * snapshot worker -> swap -> disk cache), run in a child process so its heap and event loop are
 * a node's alone; its printed figures are parsed here.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

const BENCH = fileURLToPath(new URL("../../data-plane/bench/apply-100k.ts", import.meta.url));

export interface ApplyRun {
  applyMs: number;
  wallMs: number;
  /** longest gap between two event-loop turns, wall clock (includes preemption by other processes) */
  longestStallWallMs: number;
  /** the main thread's own CPU time in its longest turn */
  longestStallCpuMs: number;
  loopDelayMaxMs: number;
  loopDelayP99Ms: number;
}

export interface ApplyFigures {
  tenants: number;
  perTenant: number;
  payloadBytes: number;
  blobBytes: number;
  first: ApplyRun;
  same: ApplyRun;
  command: string;
}

/** The `{ name: number, ... }` block printed after `label`. Pure. */
export function parseRun(output: string, label: string): ApplyRun {
  const start = output.indexOf(label);
  const end = output.indexOf("}", start);
  if (start < 0 || end < 0) throw new Error(`apply bench printed no "${label}" figures:\n${output}`);
  const fields = Object.fromEntries(
    [...output.slice(start, end).matchAll(/(\w+): ([\d.]+)/g)].map((m) => [m[1]!, Number(m[2])]),
  );
  const need = [
    "applyMs",
    "wallMs",
    "longestStallWallMs",
    "longestStallCpuMs",
    "loopDelayMaxMs",
    "loopDelayP99Ms",
  ];
  for (const name of need)
    if (!Number.isFinite(fields[name])) throw new Error(`apply bench: no ${name} after "${label}"`);
  return fields as unknown as ApplyRun;
}

/** Parses the bench's whole output. Pure. */
export function parseApplyOutput(output: string): Omit<ApplyFigures, "tenants" | "perTenant" | "command"> {
  const sizes = /payload (\d+) bytes, blob (\d+) bytes/.exec(output);
  if (!sizes) throw new Error(`apply bench printed no snapshot sizes:\n${output}`);
  return {
    payloadBytes: Number(sizes[1]),
    blobBytes: Number(sizes[2]),
    first: parseRun(output, "first apply"),
    same: parseRun(output, "second pull"),
  };
}

export function runApplyBench(
  tenants: number,
  perTenant: number,
  timeoutMs = 600_000,
): Promise<ApplyFigures> {
  const args = ["--expose-gc", BENCH, String(tenants), String(perTenant)];
  const command = `node --expose-gc data-plane/bench/apply-100k.ts ${tenants} ${perTenant}`;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      { timeout: timeoutMs, maxBuffer: 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`${command} failed: ${err.message}\n${stderr}`));
          return;
        }
        try {
          resolve({ tenants, perTenant, command, ...parseApplyOutput(stdout) });
        } catch (parseErr) {
          reject(parseErr);
        }
      },
    );
  });
}
