import { LoadtestError } from "../errors.ts";
import { assertLoopbackAddress, assertLoopbackUrl } from "./loopback.ts";

/** One HTTP request shape, sent to a loopback URL. */
export type HttpTarget = {
  kind: "http";
  url: string;
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD";
  headers?: Record<string, string>;
  body?: string;
  /**
   * A placement-aware client's shard: origins (http://host:port) the requests are spread
   * over round-robin, with `url`'s path. An origin that refuses the connection is skipped
   * for a second and the request goes to the next one (nothing was sent, so nothing is
   * repeated); a request that fails once sent is not retried.
   */
  origins?: string[];
};

/** One unary corral.demo.v1.Echo/Echo call to a loopback "host:port". */
export type GrpcTarget = {
  kind: "grpc";
  address: string;
  message?: string;
  metadata?: Record<string, string>;
};

export type Target = HttpTarget | GrpcTarget;

/** A tenant's share of the load: `rate` requests per second, each scheduled at a fixed interval. */
export type TenantLoad = { tenant: string; rate: number; target: Target };

export type LoadPlan = {
  tenants: TenantLoad[];
  /** Schedule requests for this long (seconds). */
  durationSec: number;
  /** Stop scheduling after this many requests in total (all tenants). */
  maxRequests?: number;
  /** Requests due while this many are in flight are counted as `dropped` at their scheduled time. */
  maxInFlight?: number;
  /** Per-request timeout; also how long the run waits for stragglers after the last send. */
  timeoutMs?: number;
  /** Keep-alive connections per HTTP origin or gRPC address (per worker). */
  connections?: number;
  /** 0: run in this thread; N >= 1: split the schedule over N worker threads. */
  workers?: number;
};

/** A plan with every default filled in and checked, as a worker receives it. */
export type ResolvedPlan = Required<LoadPlan> & {
  /** Absolute start time (epoch ms), shared by all lanes so their schedules interleave exactly. */
  startEpochMs: number;
  /** This lane sends the requests whose per-tenant index i has i % lanes === lane. */
  lane: number;
  lanes: number;
};

export const PLAN_DEFAULTS = {
  maxRequests: 50_000_000,
  maxInFlight: 10_000,
  timeoutMs: 10_000,
  connections: 32,
  workers: 0,
} as const;

const MAX_WORKERS = 16;

function bad(detail: string): never {
  throw new LoadtestError("CORRAL_LOADTEST_BAD_PLAN", detail);
}

function checkPositive(name: string, value: number, integer: boolean): void {
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value)))
    bad(`${name} must be a positive ${integer ? "integer" : "number"}, got ${value}`);
}

function checkTarget(tenant: string, target: Target): void {
  if (target.kind === "http") {
    assertLoopbackUrl(target.url);
    for (const origin of target.origins ?? []) assertLoopbackUrl(origin);
  } else if (target.kind === "grpc") assertLoopbackAddress(target.address);
  else bad(`tenant ${tenant}: unknown target kind ${(target as { kind: string }).kind}`);
}

/** Validates a plan (loopback targets, positive bounds) and fills in defaults. Pure. */
export function resolvePlan(plan: LoadPlan, startEpochMs: number): ResolvedPlan {
  if (plan.tenants.length === 0) bad("at least one tenant is required");
  for (const t of plan.tenants) {
    if (!(t.rate > 0) || !Number.isFinite(t.rate)) bad(`tenant ${t.tenant}: rate must be > 0, got ${t.rate}`);
    checkTarget(t.tenant, t.target);
  }
  const resolved = { ...PLAN_DEFAULTS, ...plan, startEpochMs, lane: 0, lanes: 1 };
  checkPositive("durationSec", resolved.durationSec, false);
  checkPositive("maxRequests", resolved.maxRequests, true);
  checkPositive("maxInFlight", resolved.maxInFlight, true);
  checkPositive("timeoutMs", resolved.timeoutMs, false);
  checkPositive("connections", resolved.connections, true);
  if (!Number.isInteger(resolved.workers) || resolved.workers < 0 || resolved.workers > MAX_WORKERS)
    bad(`workers must be an integer in 0..${MAX_WORKERS}, got ${resolved.workers}`);
  return resolved;
}

/** Splits a plan over `lanes` workers: same tenants and rates, interleaved indices, bounds shared out. */
export function splitPlan(plan: ResolvedPlan, lanes: number): ResolvedPlan[] {
  const share = (total: number, lane: number) => Math.floor(total / lanes) + (lane < total % lanes ? 1 : 0);
  return Array.from({ length: lanes }, (_, lane) => ({
    ...plan,
    lane,
    lanes,
    maxRequests: Math.max(1, share(plan.maxRequests, lane)),
    maxInFlight: Math.max(1, share(plan.maxInFlight, lane)),
  }));
}

/** Offered load of the plan in requests per second. */
export function offeredRate(plan: LoadPlan): number {
  return plan.tenants.reduce((sum, t) => sum + t.rate, 0);
}
