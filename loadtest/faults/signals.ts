import type { FaultTimeline } from "./timeline.ts";

/**
 * Process faults by signal: kill (SIGKILL), freeze (SIGSTOP) and thaw (SIGCONT), each
 * recorded on the timeline. Only processes the scenario started should be targeted.
 */
export type ProcessSignal = "SIGKILL" | "SIGSTOP" | "SIGCONT" | "SIGTERM";

/** Sends `signal` to `pid`; false if the process no longer exists. */
export function sendSignal(
  pid: number,
  signal: ProcessSignal,
  timeline?: FaultTimeline,
  label?: string,
): boolean {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw err;
  }
  timeline?.mark(label ?? `${signal} ${pid}`, "signal");
  return true;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** SIGKILLs `pid` and waits (polling, at most `timeoutMs`) until it is gone. */
export async function killAndWait(pid: number, timeline?: FaultTimeline, label?: string, timeoutMs = 5000) {
  sendSignal(pid, "SIGKILL", timeline, label ?? `SIGKILL ${pid}`);
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return !isAlive(pid);
}

/**
 * Freezes `pid` with SIGSTOP for `ms`, then SIGCONT; the marker spans the freeze.
 * Resolves after the thaw. The thaw is sent even if the wait is interrupted.
 */
export async function freezeFor(
  pid: number,
  ms: number,
  timeline?: FaultTimeline,
  label?: string,
): Promise<void> {
  if (!sendSignal(pid, "SIGSTOP")) return;
  const end = timeline?.begin(label ?? `SIGSTOP ${pid} for ${ms} ms`, "signal");
  try {
    await new Promise((r) => setTimeout(r, ms));
  } finally {
    sendSignal(pid, "SIGCONT");
    end?.();
  }
}
