/**
 * Usage metering over the sync connection (docs/design.md §3.5): what a node may put in the
 * `usage` entries of its Status frames, shared by the node that counts and the control plane
 * that checks and rolls them up. Outcomes are a fixed list (a refusal's corral-reason, or
 * "admitted"); a reason not on it travels as "other", so the rows per tenant stay bounded.
 */

/** Entries per Status frame at most (a full frame of the longest entries stays far below 64 KiB). */
export const USAGE_ENTRIES_PER_FRAME = 256;

/** Counts are per UTC hour; an entry's hour_start_ms is a multiple of this. */
export const USAGE_HOUR_MS = 3_600_000;

export const USAGE_OUTCOMES = [
  "admitted",
  "suspended",
  "no_route",
  "bad_path",
  "bad_request",
  "request_timeout",
  "payload_too_large",
  "headers_too_large",
  "deadline",
  "shed",
  "quota",
  "circuit_open",
  "internal",
  "other",
] as const;

export type UsageOutcome = (typeof USAGE_OUTCOMES)[number];

const KNOWN: ReadonlySet<string> = new Set(USAGE_OUTCOMES);

/** The outcome a refusal with this corral-reason is counted as. */
export function usageOutcome(reason: string): UsageOutcome {
  return KNOWN.has(reason) ? (reason as UsageOutcome) : "other";
}

export function isUsageOutcome(value: string): value is UsageOutcome {
  return KNOWN.has(value);
}

/** The start of the UTC hour `ms` falls in. */
export function hourStart(ms: number): number {
  return ms - (((ms % USAGE_HOUR_MS) + USAGE_HOUR_MS) % USAGE_HOUR_MS);
}
