/**
 * The node's admission state (docs/design.md §5) and its pipeline stages, over the pure modules of
 * ../admission/. One instance lives as long as the node: buckets, concurrency counts, route
 * latencies and shares are keyed by tenant and route id, and limits are read from the served
 * config on every request, so applying a new config changes limits at once and keeps the state
 * of every tenant (tokens carry over, capped by new capacities). Fleet settings (shedder
 * thresholds, kill switches, shadow modes) are re-read whenever the served config changes.
 *
 * The stages over this state are one file each (deadline.ts, shed.ts, concurrency.ts,
 * tenant-rate.ts, route-rate.ts, quota.ts, client-rate.ts); their order is compose.ts's.
 */
import {
  type AdmissionDecision,
  ClientLimiter,
  type ClientLimiterOptions,
  ConcurrencyLimiter,
  isAdmit,
  type LimiterMode,
  LoadShedder,
  type NodeLoad,
  type RateLimits,
  RouteLatency,
  RouteLimiter,
  TenantLimiter,
} from "../admission/index.ts";
import { QuotaLedger } from "../admission/period-quota.ts";
import type { AdmissionSettings, Limits } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import type { DemandCounter } from "../demand/demand-counter.ts";
import type { AdmissionMetrics, AdmissionStageName } from "../ops/admission-metrics.ts";
import type { LiveConfig, TenantEntry } from "../router/live-config.ts";
import type { RequestContext, Stage } from "./stage.ts";

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
  /** per-client limits of public routes; default 1024 slots per route, 256 routes, IPv6 per /64 */
  clients?: Partial<ClientLimiterOptions>;
}

/** Public routes tracked at once by the per-client limiter (the least recently used goes). */
const CLIENT_ROUTES = 256;

/** A request header as one string (repeated ones joined). */
export function header(ctx: RequestContext, name: string): string | undefined {
  const value = ctx.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

export const nonNegative = (x: number | undefined) => (Number.isFinite(x) && x! >= 0 ? x! : 0);

/** The tenant's rate limits as this node applies them (its shard's size bounds the split). */
export function tenantLimits(t: TenantEntry): RateLimits {
  const l = t.limits;
  const shardSize = Math.min(64, Math.max(1, t.shard.length));
  // modeOf's fields written out: a spread would build a second object per request
  return {
    rate: nonNegative(l?.rate),
    burst: nonNegative(l?.burst),
    shardSize,
    shadow: l?.shadow === true,
    disabled: l?.disabled === true,
  };
}

export function modeOf(l: Limits | undefined): { shadow: boolean; disabled: boolean } {
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
  /** period quotas (counted with the shard through Redis by quota/quota-flusher.ts, when configured) */
  readonly quotas = new QuotaLedger();
  /** fleet switches of the period quotas (settings.admission quota_shadow / quota_disabled) */
  quotaMode: LimiterMode = {};
  readonly clients: ClientLimiter;
  readonly options: NodeAdmissionOptions;
  #shedder: LoadShedder;
  #shedderKey = "";
  #configured: LiveConfig | undefined;

  constructor(options: NodeAdmissionOptions) {
    this.options = options;
    this.clients = new ClientLimiter({
      slots: 1024,
      maxRoutes: CLIENT_ROUTES,
      ipv6Prefix: 64,
      ...options.clients,
    });
    this.#shedder = this.#newShedder(undefined);
  }

  /** the shedder for the served config's thresholds */
  get shedder(): LoadShedder {
    return this.#shedder;
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
    this.clients.setMode(rateMode);
    this.concurrency.setMode(rateMode);
    this.quotaMode = { shadow: a?.quotaShadow, disabled: a?.quotaDisabled };
  }

  #newShedder(a: AdmissionSettings | undefined): LoadShedder {
    this.#shedderKey = shedderKey(a);
    return new LoadShedder({
      maxInflight: a?.maxInflight || undefined,
      maxEventLoopDelayMs: a?.maxEventLoopDelayMs || undefined,
      random: this.options.random,
    });
  }

  /** Records a proxied request's upstream latency (time to response headers) for its route. */
  recordLatency(routeId: string, ms: number): void {
    this.latency.record(routeId, ms, this.options.monotonic());
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
    const now = this.options.monotonic();
    this.tenants.sweep(now);
    this.routes.sweep(now);
    this.quotas.sweep(this.options.now());
  }

  /**
   * A stage over this state: applies the served config's fleet settings, counts the decision
   * (corral_dp_admission_decisions_total); a rejection stops the request as it is, an admit
   * keeps its headers for the response and its release for the end of the request.
   */
  stage(name: AdmissionStageName, decide: (ctx: RequestContext) => AdmissionDecision): Stage {
    const { metrics } = this.options;
    return {
      name,
      run: (ctx) => {
        this.configure(ctx.config);
        const decision = decide(ctx);
        if (!isAdmit(decision)) {
          metrics.decision(name, "reject");
          return decision;
        }
        metrics.decision(name, decision.shadowed ? "shadow_reject" : "admit");
        if (decision.headers) Object.assign(ctx.responseHeaders, decision.headers);
        if (decision.release) ctx.onFinish.push(decision.release);
        return undefined;
      },
    };
  }
}
