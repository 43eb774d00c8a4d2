import { execFileSync } from "node:child_process";
import { availableParallelism } from "node:os";

/**
 * Core pinning for the HTTP benches (issue 14): the proxy under test on one core, the load
 * generator (this process and its worker threads) and the upstream on another, so the
 * contender's tail is its own and not the generator's. `--pin=P:L` names the proxy's core P
 * and the load side's core L; `--pin=off` leaves scheduling to the OS. Pinning uses Linux
 * `taskset -a -p -c` (every thread of a process); children inherit their parent's affinity,
 * so pinning the harness first puts the upstream (and the data plane contender's control
 * plane and Postgres, idle during the measurement) on the load core, and each contender's
 * own processes are moved to the proxy core once started.
 */
export type CorePinning = { proxyCore: number; loadCore: number };

/** Parses `--pin` (pure): "off" or "P:L", two different cores below `cpus`. */
export function parsePin(value: string, cpus: number): CorePinning | undefined {
  if (value === "off") return undefined;
  const m = /^(\d+):(\d+)$/.exec(value);
  const [proxyCore, loadCore] = m ? [Number(m[1]), Number(m[2])] : [Number.NaN, Number.NaN];
  if (!m || proxyCore === loadCore || proxyCore >= cpus || loadCore >= cpus)
    throw new Error(
      `--pin: off, or <proxy core>:<load core>, two different cores below ${cpus}; got ${value}`,
    );
  return { proxyCore, loadCore };
}

/** Pins every thread of `pid` to `core`. */
export function pinProcess(pid: number, core: number): void {
  execFileSync("taskset", ["-a", "-p", "-c", String(core), String(pid)], { stdio: "ignore" });
}

/** Whether this machine can pin (Linux with taskset and at least two cores). */
function canPin(): boolean {
  if (process.platform !== "linux" || availableParallelism() < 2) return false;
  try {
    execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Applies `--pin` to the harness (call before starting the upstream) and returns what to do
 * with each started contender's pids; undefined when pinning is off or not possible here.
 */
export function pinHarness(value: string, log: (m: string) => void): CorePinning | undefined {
  if (value === "off") return undefined;
  if (!canPin()) {
    log("--pin: not pinning (needs Linux, taskset and two cores)");
    return undefined;
  }
  const pin = parsePin(value, availableParallelism());
  if (!pin) return undefined;
  pinProcess(process.pid, pin.loadCore);
  log(`pinned: generator and upstream on core ${pin.loadCore}, each contender on core ${pin.proxyCore}`);
  return pin;
}
