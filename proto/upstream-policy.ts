/**
 * An upstream's traffic policy — target weights, active health checks, passive outlier ejection
 * and slow start — as both planes bound it: the CP's APIs validate input against these bounds
 * and fill the defaults (so a snapshot carries every field), the consistency check
 * (snapshot-consistency.ts) refuses a snapshot outside them, the nodes apply them. Pure.
 */
import type { HealthCheck, OutlierDetection, Upstream } from "./gen/corral/snapshot/v1/snapshot.ts";

/** [min, max] of every number, inclusive. */
export const UPSTREAM_POLICY_BOUNDS = Object.freeze({
  weight: [1, 100],
  healthIntervalMs: [1_000, 300_000],
  healthTimeoutMs: [100, 60_000],
  healthThreshold: [1, 10],
  consecutiveFailures: [1, 100],
  baseEjectionMs: [100, 600_000],
  maxEjectionMs: [100, 3_600_000],
  maxEjectedPercent: [0, 100],
  slowStartMs: [0, 600_000],
} as const);

export type PolicyBound = keyof typeof UPSTREAM_POLICY_BOUNDS;

export const DEFAULT_OUTLIER: Readonly<OutlierDetection> = Object.freeze({
  consecutiveFailures: 5,
  baseEjectionMs: 5_000,
  maxEjectionMs: 60_000,
  maxEjectedPercent: 50,
  slowStartMs: 10_000,
});

export const DEFAULT_HEALTH_CHECK: Readonly<HealthCheck> = Object.freeze({
  path: "/",
  grpc: false,
  grpcService: "",
  intervalMs: 10_000,
  timeoutMs: 2_000,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
});

/** An HTTP check path: absolute, printable ASCII, no fragment, bounded. */
export const HEALTH_PATH_RE = /^\/[\x21-\x22\x24-\x7e]{0,255}$/;
/** A grpc.health.v1 service name: "" (the whole server) or a dotted name. */
export const GRPC_SERVICE_RE = /^[A-Za-z0-9._/-]{0,200}$/;

export function outOfBounds(name: PolicyBound, value: number): boolean {
  const [min, max] = UPSTREAM_POLICY_BOUNDS[name];
  return !Number.isInteger(value) || value < min || value > max;
}

/** Which bound each numeric field of a health check and of the outlier settings obeys. */
const HEALTH_FIELDS = [
  ["intervalMs", "healthIntervalMs"],
  ["timeoutMs", "healthTimeoutMs"],
  ["healthyThreshold", "healthThreshold"],
  ["unhealthyThreshold", "healthThreshold"],
] as const satisfies readonly (readonly [keyof HealthCheck, PolicyBound])[];
const OUTLIER_FIELDS = [
  ["consecutiveFailures", "consecutiveFailures"],
  ["baseEjectionMs", "baseEjectionMs"],
  ["maxEjectionMs", "maxEjectionMs"],
  ["maxEjectedPercent", "maxEjectedPercent"],
  ["slowStartMs", "slowStartMs"],
] as const satisfies readonly (readonly [keyof OutlierDetection, PolicyBound])[];

/** What is wrong with an upstream's weights, health check and outlier settings. */
export function upstreamPolicyProblems(where: string, u: Upstream): string[] {
  const problems: string[] = [];
  const bound = (field: string, name: PolicyBound, value: number) => {
    if (outOfBounds(name, value))
      problems.push(`${where}: ${field} ${value} out of range ${UPSTREAM_POLICY_BOUNDS[name].join("..")}`);
  };
  if (u.weights.length > 0 && u.weights.length !== u.targets.length)
    problems.push(`${where}: ${u.weights.length} weights for ${u.targets.length} targets`);
  for (const w of u.weights) bound("weight", "weight", w);
  const hc = u.healthCheck;
  if (hc) {
    for (const [field, name] of HEALTH_FIELDS) bound(`health check ${field}`, name, hc[field]);
    if (hc.timeoutMs > hc.intervalMs) problems.push(`${where}: health check timeout exceeds its interval`);
    if (!hc.grpc && !HEALTH_PATH_RE.test(hc.path)) problems.push(`${where}: bad health check path`);
    if (hc.grpc && !GRPC_SERVICE_RE.test(hc.grpcService))
      problems.push(`${where}: bad health check service name`);
  }
  const o = u.outlier;
  if (o) {
    for (const [field, name] of OUTLIER_FIELDS) bound(field, name, o[field]);
    if (o.maxEjectionMs < o.baseEjectionMs)
      problems.push(`${where}: max ejection time below the base ejection time`);
  }
  return problems;
}
