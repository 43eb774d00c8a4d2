/**
 * A loopback TCP port that was free a moment ago, for servers that cannot listen on port 0 and
 * report back (nginx, toxiproxy's API): the dev platform's (bin/dev/ports.ts). Another process
 * may take it in between; callers start their server at once and fail clearly if the bind fails.
 */
export { freePort } from "../../bin/dev/ports.ts";

/** Polls `probe` every 25 ms until it resolves true or `timeoutMs` passes. */
export async function waitUntil(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}
