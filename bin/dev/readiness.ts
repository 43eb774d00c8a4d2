/** Waiting for processes to become ready: polling probes that give up when the process dies. */
import type { ManagedChild } from "./managed-child.ts";

const POLL_MS = 100;

/** HTTP status of a request, or undefined when nothing answered. The body is read and dropped. */
export async function httpStatus(
  url: string,
  init: RequestInit = {},
  timeoutMs = 2000,
): Promise<number | undefined> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return undefined;
  }
}

export interface WaitOptions {
  /** give up (rejecting) as soon as this child is no longer running */
  child?: ManagedChild;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Polls `probe` until it returns true; rejects on timeout, abort or the child's exit. */
export async function waitFor(what: string, probe: () => Promise<boolean>, opts: WaitOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    opts.signal?.throwIfAborted();
    if (opts.child && !opts.child.running) throw opts.child.failure(`exited before ${what}`);
    if (await probe()) return;
    if (Date.now() > deadline) {
      const message = `${what}: not after ${opts.timeoutMs} ms`;
      throw opts.child ? opts.child.failure(message) : new Error(message);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Resolves when GET url answers `status` (default 200). */
export function waitForHttp(
  url: string,
  opts: WaitOptions & { status?: number; init?: RequestInit },
): Promise<void> {
  const want = opts.status ?? 200;
  return waitFor(`GET ${url} answers ${want}`, async () => (await httpStatus(url, opts.init)) === want, opts);
}
