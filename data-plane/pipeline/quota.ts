/**
 * Stage `quota` (where served, after the buckets): the tenant's period quota, and its key's own
 * when the key has one (admission/period-quota.ts), counted across the shard through the store
 * when it answers. 429 quota with Retry-After until the period ends; the quota is a second
 * policy in RateLimit / RateLimit-Policy, on admissions too. A quota with limit 0 is unset.
 * Fleet (settings.admission quota_shadow / quota_disabled) and tenant (limits.shadow /
 * disabled) switches apply as for every limiter.
 */
import {
  type AdmissionDecision,
  admitShadowed,
  combineModes,
  reject,
  retryAfterSeconds,
} from "../admission/decision.ts";
import type { QuotaAsk, QuotaOutcome } from "../admission/period-quota.ts";
import { withQuotaPolicy } from "../admission/rate-limit-headers.ts";
import type { Quota } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { isQuotaKeyId, type QuotaScope, quotaCounterKey } from "../../runtime/quota-keys.ts";
import { isQuotaPeriod, quotaWindow } from "../../runtime/quota-period.ts";
import type { TenantEntry } from "../router/live-config.ts";
import { modeOf, type NodeAdmission, tenantLimits } from "./node-admission.ts";
import type { RequestContext, Stage } from "./stage.ts";

export function quotaStage(node: NodeAdmission): Stage {
  return node.stage("quota", (ctx) => {
    const t = ctx.tenant!;
    const mode = combineModes(node.quotaMode, modeOf(t.limits));
    if (mode.disabled) return { admit: true };
    const nowMs = node.options.now();
    const asks = quotaAsks(node, t, ctx.keyId, nowMs);
    if (asks.length === 0) return { admit: true };
    const outcome = node.quotas.admit(asks, nowMs, !mode.shadow);
    if (mode.shadow) return outcome.ok && outcome.overQuota ? admitShadowed("quota") : { admit: true };
    return decide(ctx, asks, outcome);
  });
}

type ScopedAsk = QuotaAsk & { scope: QuotaScope["kind"] };

/** The tenant's quota and its key's, as the ledger asks them (none when neither is set). */
function quotaAsks(
  node: NodeAdmission,
  t: TenantEntry,
  keyId: string | undefined,
  nowMs: number,
): ScopedAsk[] {
  const share = node.tenants.shareOf(t.id, tenantLimits(t));
  const asks: ScopedAsk[] = [];
  const ask = (quota: Quota | undefined, scope: QuotaScope) => {
    if (!quota || !(quota.limit > 0) || !isQuotaPeriod(quota.period)) return;
    const window = quotaWindow(nowMs, quota.period, quota.offsetMs);
    const shared = isQuotaKeyId(t.id) && (scope.kind === "tenant" || isQuotaKeyId(scope.keyId));
    const key = shared ? quotaCounterKey(t.id, scope, window.startMs) : localKey(t.id, scope, window.startMs);
    asks.push({ key, shared, limit: quota.limit, window, share, scope: scope.kind });
  };
  ask(t.limits?.quota, { kind: "tenant" });
  const key = keyId === undefined ? undefined : t.keys.find((k) => k.id === keyId);
  if (key?.quota) ask(key.quota, { kind: "key", keyId: key.id });
  return asks;
}

/** A counter this node keeps alone: ids the store's key names cannot carry. */
function localKey(tenantId: string, scope: QuotaScope, startMs: number): string {
  return `local:${JSON.stringify([tenantId, scope.kind === "key" ? scope.keyId : "", startMs])}`;
}

/** Enforced: the tightest quota in the RateLimit headers, or 429 for the one used up. */
function decide(ctx: RequestContext, asks: readonly ScopedAsk[], outcome: QuotaOutcome): AdmissionDecision {
  if (outcome.ok) {
    const tightest = outcome.views.reduce((a, b) => (b.remaining < a.remaining ? b : a));
    return { admit: true, headers: withQuotaPolicy(ctx.responseHeaders, tightest) };
  }
  const over = outcome.views[outcome.exhausted]!;
  return reject(
    "quota",
    `the ${asks[outcome.exhausted]!.scope}'s quota of ${over.limit} requests for this period is used up`,
    {
      retryAfterS: retryAfterSeconds(over.resetMs),
      headers: withQuotaPolicy(ctx.responseHeaders, over),
    },
  );
}
