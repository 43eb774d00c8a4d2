import pino, { type DestinationStream, type Logger } from "pino";

/**
 * Where a node's log lines go when no test stream is given: stdout, through a small buffer.
 * pino's default destination hands every line to its own fs.write, a thread-pool round trip
 * per line: with every request logged (CORRAL_LOG_SAMPLE_RATE=1, the default) that was 26 % of
 * the node's CPU under closed-loop load (loadtest/results/2026-12-08-bench-latency.md). Lines
 * are instead written when LOG_BUFFER_BYTES have gathered (about 16 request lines a write),
 * and whatever is buffered at least every LOG_FLUSH_MS, so a quiet node's lines are no later
 * than that. A node that closes (SIGTERM drain) waits for every line to be written
 * (flushLog); on any other exit, crash included, pino's exit hook writes the buffer
 * synchronously, and what can be lost is the one batch whose asynchronous write was still
 * in flight (before, the one line or lines in flight), or a SIGKILL's buffer, a few kilobytes.
 */
export const LOG_BUFFER_BYTES = 4096;
export const LOG_FLUSH_MS = 250;

export function stdoutLogDestination(): DestinationStream {
  return pino.destination({ dest: 1, sync: false, minLength: LOG_BUFFER_BYTES, periodicFlush: LOG_FLUSH_MS });
}

/** How long a closing node waits for its log to be written (a stdout nobody reads: not forever). */
export const LOG_CLOSE_FLUSH_MS = 2000;

/**
 * Resolves once every line the logger was given is written, its destination failed, or
 * LOG_CLOSE_FLUSH_MS passed.
 */
export function flushLog(log: Logger): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, LOG_CLOSE_FLUSH_MS);
    timer.unref();
    log.flush(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
