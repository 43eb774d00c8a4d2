/**
 * Request deadlines: read `grpc-timeout` / `corral-timeout-ms`, and refuse at once a request
 * that cannot finish in the time it has left (504 / DEADLINE_EXCEEDED), instead of queueing it.
 *
 * Formats (both: 1 to 8 ASCII digits, as the gRPC spec bounds TimeoutValue):
 *  - grpc-timeout: digits + unit, H hours, M minutes, S seconds, m ms, u µs, n ns ("250m").
 *  - corral-timeout-ms: digits, milliseconds ("250").
 * Anything else (signs, spaces, decimals, 9+ digits, unknown unit) is a bad_timeout error (400 /
 * INVALID_ARGUMENT). Valid values above maxTimeoutMs are clamped to it: the node never waits
 * longer anyway. With both headers the earlier deadline wins. 0 means already expired.
 *
 * Rule: a request is rejected when remainingMs <= 0 or remainingMs < expectedMs, where
 * expectedMs is what the route usually takes: the median of its recent upstream latencies,
 * at least a floor (see RouteLatency.expectedMs in latency-tracker.ts).
 */
import { type AdmissionDecision, reject } from "./decision.ts";

export const DEFAULT_MAX_TIMEOUT_MS = 60 * 60 * 1000;

export type TimeoutHeaders = { grpcTimeout?: string; corralTimeoutMs?: string };
export type TimeoutParse =
  | { ok: true; timeoutMs: number | undefined }
  | { ok: false; header: "grpc-timeout" | "corral-timeout-ms"; message: string };

const GRPC_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };
const GRPC_TIMEOUT = /^(\d{1,8})([HMSmun])$/;
const MILLIS = /^\d{1,8}$/;

/** grpc-timeout in ms, or undefined when malformed. */
export function parseGrpcTimeout(value: string): number | undefined {
  const match = GRPC_TIMEOUT.exec(value);
  return match ? Number(match[1]) * GRPC_UNIT_MS[match[2]!]! : undefined;
}

/** corral-timeout-ms in ms, or undefined when malformed. */
export function parseCorralTimeoutMs(value: string): number | undefined {
  return MILLIS.test(value) ? Number(value) : undefined;
}

export const GRPC_TIMEOUT_FORMAT = "grpc-timeout must be 1-8 digits and a unit (H M S m u n)";

/** Each timeout header: where TimeoutHeaders holds it, its parser, and what a bad value hears. */
const TIMEOUT_HEADER_RULES = [
  { field: "grpcTimeout", header: "grpc-timeout", parse: parseGrpcTimeout, message: GRPC_TIMEOUT_FORMAT },
  {
    field: "corralTimeoutMs",
    header: "corral-timeout-ms",
    parse: parseCorralTimeoutMs,
    message: "corral-timeout-ms must be 1-8 digits (milliseconds)",
  },
] as const;

/** The request's timeout from its headers (undefined: none given), or which header is bad. */
export function parseTimeoutHeaders(
  headers: TimeoutHeaders,
  maxTimeoutMs = DEFAULT_MAX_TIMEOUT_MS,
): TimeoutParse {
  // the smallest given, without an array per request
  let timeoutMs: number | undefined;
  for (const h of TIMEOUT_HEADER_RULES) {
    const value = headers[h.field];
    if (value === undefined) continue;
    const ms = h.parse(value);
    if (ms === undefined) return { ok: false, header: h.header, message: h.message };
    timeoutMs = Math.min(timeoutMs ?? maxTimeoutMs, ms);
  }
  return { ok: true, timeoutMs };
}

/** The rejection for a malformed timeout header. */
export function badTimeout(parse: Extract<TimeoutParse, { ok: false }>): AdmissionDecision {
  return reject("bad_timeout", parse.message);
}

/** Admit unless the request cannot finish in its remaining time (rule above). */
export function checkDeadline(remainingMs: number, expectedMs: number): AdmissionDecision {
  if (remainingMs > 0 && remainingMs >= expectedMs) return { admit: true };
  const left = Math.max(0, remainingMs);
  return reject(
    "deadline",
    `${left.toFixed(1)} ms left, the route usually needs ${expectedMs.toFixed(1)} ms`,
  );
}
