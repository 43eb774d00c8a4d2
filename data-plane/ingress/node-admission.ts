/**
 * The node's admission state (docs/design.md §5) and its pipeline stages, over the pure modules of
 * ../admission/. One instance lives as long as the node: buckets, concurrency counts, route
 * latencies and shares are keyed by tenant and route id, and limits are read from the served
 * config on every request, so applying a new config changes limits at once and keeps the state
 * of every tenant (tokens carry over, capped by new capacities). Fleet settings (shedder
 * thresholds, kill switches, shadow modes) are re-read whenever the served config changes.
 *
 * Stages, in order: deadline -> shed -> [placement, outside this class] -> concurrency ->
 * tenant buckets -> route buckets.
 */
import {
  ConcurrencyLimiter,
  checkDeadline,
  effectivePriority,
  LoadShedder,
  type NodeLoad,
  parseTimeoutHeaders,
  RouteLatency,
  RouteLimiter,
  TenantLimiter,
  badTimeout,
  type AdmissionDecision,
  type RateLimits,
} from "../admission/index.ts";
import type { AdmissionSettings, Limits } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import type { DemandCounter } from "../demand/demand-counter.ts";
import type { AdmissionMetrics, AdmissionStageName } from "../ops/admission-metrics.ts";
import type { LiveConfig, TenantEntry } from "../router/live-config.ts";
import { admissionStage } from "./admission-stage.ts";
import type { RequestContext, Stage } from "./pipeline.ts";

export interface NodeAdmissionOptions {
  /** monotonic ms (the clock of RequestContext.receivedAt) */
  monotonic: () => number;
  /** wall-clock ms (demand reports are compared across nodes) */
  now: () => number;
  random: () => number;
  /** in-flight requests (including the one being decided) and event-loop delay */
  load: () => NodeLoad;
  demand: DemandCounter;
  metrics: AdmissionMetrics;
}

function header(ctx: RequestContext, name: string): string | undefined {
  const value = ctx.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

const nonNegative = (x: number | undefined) => (Number.isFinite(x) && x! >= 0 ? x! : 0);

function tenantLimits(t: TenantEntry): RateLimits {
  const l = t.limits;
  const shardSize = Math.min(64, Math.max(1, t.shard.length));
  return { rate: nonNegative(l?.rate), burst: nonNegative(l?.burst), shardSize, ...modeOf(l) };
}

function modeOf(l: Limits | undefined): { shadow: boolean; disabled: boolean } {
  return { shadow: l?.shadow === true, disabled: l?.disabled === true };
}

function shedderKey(a: AdmissionSettings | undefined): string {
  return `${a?.maxInflight ?? 0}/${a?.maxEventLoopDelayMs ?? 0}`;
}

export class NodeAdmission {
  readonly latency = new RouteLatency();
  readonly concurrency = new ConcurrencyLimiter();
  readonly tenants = new TenantLimiter();
  readonly routes = new RouteLimiter();
  readonly #o: NodeAdmissionOptions;
  #shedder: LoadShedder;
  #shedderKey = "";
  #configured: LiveConfig | undefined;

  constructor(options: NodeAdmissionOptions) {
    this.#o = options;
    this.#shedder = this.#newShedder(undefined);
  }

  get shedPressure(): number {
    return this.#shedder.pressure;
  }

  /** Applies the config's fleet settings once per config (called by every stage; cheap). */
  configure(config: LiveConfig | undefined): void {
    if (!config || config === this.#configured) return;
    this.#configured = config;
    const a = config.settings?.admission;
    if (shedderKey(a) !== this.#shedderKey) this.#shedder = this.#newShedder(a);
    this.#shedder.setMode({ shadow: a?.shedShadow, disabled: a?.shedDisabled });
    const rateMode = { shadow: a?.rateShadow, disabled: a?.rateDisabled };
    this.tenants.setMode(rateMode);
    this.routes.setMode(rateMode);
    this.concurrency.setMode(rateMode);
  }

  #newShedder(a: AdmissionSettings | undefined): LoadShedder {
    this.#shedderKey = shedderKey(a);
    return new LoadShedder({
      maxInflight: a?.maxInflight || undefined,
      maxEventLoopDelayMs: a?.maxEventLoopDelayMs || undefined,
      random: this.#o.random,
    });
  }

  /** Stages before placement: deadline, then node load shedding. */
  admissionStages(): Stage[] {
    return [
      this.#stage("deadline", (ctx) => this.#deadline(ctx)),
      this.#stage("shed", (ctx) => this.#shed(ctx)),
    ];
  }

  /** Stages where the tenant is served: concurrency, tenant buckets, route buckets. */
  limitStages(): Stage[] {
    return [
      this.#stage("concurrency", (ctx) => this.#concurrency(ctx)),
      this.#stage("tenant_rate", (ctx) => this.#tenantRate(ctx)),
      this.#stage("route_rate", (ctx) => this.#routeRate(ctx)),
    ];
  }

  /** Records a proxied request's upstream latency (time to response headers) for its route. */
  recordLatency(routeId: string, ms: number): void {
    this.latency.record(routeId, ms, this.#o.monotonic());
  }

  /** Sets this node's share of a tenant's limit (its routes' buckets follow it). */
  setShare(tenantId: string, share: number): void {
    this.tenants.setShare(tenantId, share);
  }

  clearShare(tenantId: string): void {
    this.tenants.clearShare(tenantId);
  }

  /** Drops idle buckets (full ones); run now and then. */
  sweep(): void {
    const now = this.#o.monotonic();
    this.tenants.sweep(now);
    this.routes.sweep(now);
  }

  #stage(name: AdmissionStageName, decide: (ctx: RequestContext) => AdmissionDecision): Stage {
    const { metrics } = this.#o;
    return admissionStage(name, (ctx) => {
      this.configure(ctx.config);
      const decision = decide(ctx);
      metrics.decision(name, !decision.admit ? "reject" : decision.shadowed ? "shadow_reject" : "admit");
      return decision;
    });
  }

  #deadline(ctx: RequestContext): AdmissionDecision {
    const parsed = parseTimeoutHeaders({
      grpcTimeout: header(ctx, "grpc-timeout"),
      corralTimeoutMs: header(ctx, "corral-timeout-ms"),
    });
    if (!parsed.ok) return badTimeout(parsed);
    if (parsed.timeoutMs === undefined) return { admit: true };
    ctx.deadlineAt = ctx.receivedAt + parsed.timeoutMs;
    const now = this.#o.monotonic();
    return checkDeadline(ctx.deadlineAt - now, this.latency.expectedMs(ctx.route!.id, now));
  }

  #shed(ctx: RequestContext): AdmissionDecision {
    const priority = effectivePriority(ctx.tenant!.limits?.priority, header(ctx, "corral-priority"));
    const load = this.#o.load();
    const decision = this.#shedder.admit(priority, { ...load, inFlight: Math.max(0, load.inFlight - 1) });
    if (!decision.admit) this.#o.metrics.shed(priority);
    return decision;
  }

  #concurrency(ctx: RequestContext): AdmissionDecision {
    const t = ctx.tenant!;
    const concurrency = Math.trunc(nonNegative(t.limits?.concurrency));
    return this.concurrency.acquire(t.id, { concurrency, ...modeOf(t.limits) });
  }

  #tenantRate(ctx: RequestContext): AdmissionDecision {
    const t = ctx.tenant!;
    this.#o.demand.note(t.id, this.#o.now());
    return this.tenants.admit(t.id, tenantLimits(t), this.#o.monotonic());
  }

  #routeRate(ctx: RequestContext): AdmissionDecision {
    const route = ctx.route!;
    const l = route.limits;
    if (!l || !(l.rate > 0)) return { admit: true };
    const t = ctx.tenant!;
    const tenantMode = modeOf(t.limits);
    const shardSize = tenantLimits(t).shardSize;
    const limits: RateLimits = {
      rate: nonNegative(l.rate),
      burst: nonNegative(l.burst),
      shardSize,
      shadow: l.shadow || tenantMode.shadow,
      disabled: l.disabled || tenantMode.disabled,
    };
    // a route's buckets are split like its tenant's: the same share of the route's limit
    this.routes.setShare(route.id, this.tenants.shareOf(t.id, { shardSize }));
    return this.routes.admit(route.id, limits, this.#o.monotonic());
  }
}
