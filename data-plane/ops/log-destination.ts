import pino, { type DestinationStream } from "pino";

/**
 * Where a node's log lines go when no test stream is given: stdout, through a small buffer.
 * pino's default destination hands every line to its own fs.write, a thread-pool round trip
 * per line: with every request logged (CORRAL_LOG_SAMPLE_RATE=1, the default) that was 26 % of
 * the node's CPU under closed-loop load (loadtest/results/2026-12-08-bench-latency.md). Lines
 * are instead written when LOG_BUFFER_BYTES have gathered (about 16 request lines a write),
 * and whatever is buffered at least every LOG_FLUSH_MS, so a quiet node's lines are no later
 * than that. On exit, crash included, the buffer is written synchronously (pino's exit hook);
 * only a SIGKILL loses what is buffered, at most a few kilobytes.
 */
export const LOG_BUFFER_BYTES = 4096;
export const LOG_FLUSH_MS = 250;

export function stdoutLogDestination(): DestinationStream {
  return pino.destination({ dest: 1, sync: false, minLength: LOG_BUFFER_BYTES, periodicFlush: LOG_FLUSH_MS });
}
