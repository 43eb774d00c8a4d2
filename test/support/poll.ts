/**
 * The one way tests wait for a condition: poll a probe until it passes. Tests wait for the event
 * itself, never for a fixed time; the interval only paces the probe, and the timeout is a
 * generous bound for a loaded machine, not a measurement.
 */
import { inspect } from "node:util";

export type Passed<T> = Exclude<T, false | null | undefined | 0 | "">;

/** Default bound: generous, so a loaded 2-core machine does not fail a test that would pass. */
export const POLL_TIMEOUT_MS = 30_000;

/**
 * Calls `probe` every `intervalMs` until it returns something truthy, and returns that value. A
 * probe that returns a falsy value or throws has not passed yet; after `timeoutMs` this rejects
 * naming `what`, the bound and the last observation (the last value, or the last error).
 */
export async function poll<T>(
  what: string,
  probe: () => T | Promise<T>,
  timeoutMs = POLL_TIMEOUT_MS,
  intervalMs = 25,
): Promise<Passed<T>> {
  const deadline = Date.now() + timeoutMs;
  let last = "nothing observed";
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as Passed<T>;
      last = inspect(value);
    } catch (err) {
      last = err instanceof Error ? `${err.name}: ${err.message}` : inspect(err);
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms (last observation: ${last})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
