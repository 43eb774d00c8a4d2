/**
 * Admission control (docs/design.md §5): pure stages with injected clock and randomness, no I/O.
 *
 * Every stage returns an AdmissionDecision (decision.ts):
 *   { admit: true, headers?, release?, shadowed? }    an Admit
 *   { code, detail, headers }                         the data plane's one Rejection (../errors.ts)
 * A rejection's code is an entry of the data plane's error catalogue, which gives its status,
 * gRPC status and `corral-reason`; its headers hold, where it applies, `retry-after` and the
 * RateLimit headers. The pipeline stops a request with it as it is. An admission's `release`
 * must be called once when the request ends.
 *
 * The request pipeline runs them in this order, one stage file each (../pipeline/compose.ts):
 *   1. deadline     parseTimeoutHeaders -> badTimeout (400) | checkDeadline(remaining,
 *                   RouteLatency.expectedMs(route)) -> 504 DEADLINE_EXCEEDED, `deadline`
 *   2. shed         LoadShedder.admit(effectivePriority(plan, header), {inFlight, eventLoopDelayMs})
 *                   -> 503 UNAVAILABLE, `shed`, jittered Retry-After
 *   3. concurrency  ConcurrencyLimiter.acquire(tenant, {concurrency}) -> 429, `concurrency`
 *   4. tenant       TenantLimiter.admit(tenant, {rate, burst, shardSize, shadow, disabled}, now)
 *                   -> 429 RESOURCE_EXHAUSTED, `quota`, Retry-After + RateLimit + RateLimit-Policy
 *   5. route        RouteLimiter.admit(route, route limits, now) -> same as tenant
 *   6. quota        QuotaLedger.admit([tenant's quota, key's quota], now) (period-quota.ts) -> 429,
 *                   `quota`, Retry-After until the period ends, the quota as a second RateLimit policy
 *   6. client       ClientLimiter.admit(route, client address, client limits, now): public
 *                   routes, per client address in fixed memory -> 429, `client_rate`, Retry-After
 * Record each proxied request's upstream latency with RouteLatency.record for step 1.
 * Node share of a tenant limit: 1/k by default; with Redis, computeDemandShares (demand-share.ts)
 * gives each member's share from the members' demand reports -> TenantLimiter.setShare.
 * Shadow mode and kill switch: setMode({shadow, disabled}) fleet-wide on each limiter, or per
 * tenant/route in the limits passed with each call.
 */
export { ClientLimiter, type ClientLimiterOptions, type ClientLimits } from "./client-limiter.ts";
export { ConcurrencyLimiter, type ConcurrencyLimit } from "./concurrency-limiter.ts";
export { badTimeout, checkDeadline, parseTimeoutHeaders, type TimeoutHeaders } from "./deadline.ts";
export {
  ADMISSION_CODES,
  type AdmissionDecision,
  type AdmissionReason,
  type Admit,
  type LimiterMode,
  isAdmit,
  type Priority,
} from "./decision.ts";
export { computeDemandShares, type DemandReport, type DemandShares } from "./demand-share.ts";
export { dualBucketSpecs } from "./dual-bucket.ts";
export type { RateLimits } from "./keyed-bucket-limiter.ts";
export { LatencyWindow, RouteLatency } from "./latency-tracker.ts";
export { effectivePriority, LoadShedder, type NodeLoad } from "./load-shedder.ts";
export { RouteLimiter } from "./route-limiter.ts";
export { TenantLimiter } from "./tenant-limiter.ts";
export { TokenBucket } from "./token-bucket.ts";
