/**
 * Placement on the request path (docs/design.md §4), for HTTP requests and gRPC calls alike: serve here,
 * forward to a shard member (the candidates go on the context for the ingress's peer forwarder), or refuse with 421 misdirected (strict
 * mode, or a request another node already forwarded) / 503 shard_unavailable (no live member).
 * The rules are the pure decidePlacement (../placement/forwarding.ts).
 *
 * Also the placement endpoint `GET /.well-known/corral/placement/<tenant>`: the tenant's shard
 * for placement-aware clients. It needs an API key of that tenant (the same rule as requests),
 * so it tells nobody which tenants exist; a key of another tenant gets 404 unknown_tenant.
 */
import type { Slot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { type Rejection, reject } from "../errors.ts";
import type { PlacementOutcome } from "../ops/admission-metrics.ts";
import { decidePlacement, type PlacementProtocol, type ShardMember } from "../placement/forwarding.ts";
import { type PlacementView, shardHeader, shardMembers, slotTable } from "../placement/shard-view.ts";
import type { LiveConfig } from "../router/live-config.ts";
import { identifyTenant, requireConfig } from "./core-stages.ts";
import { runStages, type RequestContext, type Stage } from "./pipeline.ts";

const tables = new WeakMap<LiveConfig, ReadonlyMap<string, Slot>>();

/** The slot table of a config, built once per config. */
function slotsOf(config: LiveConfig): ReadonlyMap<string, Slot> {
  let table = tables.get(config);
  if (!table) {
    table = slotTable(config.slots);
    tables.set(config, table);
  }
  return table;
}

export function tenantShard(config: LiveConfig, shard: readonly string[]): ShardMember[] {
  return shardMembers(shard, slotsOf(config));
}

function shardRejection(
  code: "CORRAL_DP_MISDIRECTED" | "CORRAL_DP_SHARD_UNAVAILABLE",
  tenant: string,
  shard: ShardMember[],
  protocol: PlacementProtocol,
): Rejection {
  const detail =
    code === "CORRAL_DP_MISDIRECTED"
      ? `tenant ${tenant} is served by ${shard.map((m) => m.slot).join(", ")}`
      : `no member of tenant ${tenant}'s shard (${shard.map((m) => m.slot).join(", ")}) is live`;
  return {
    code,
    detail,
    headers: { "corral-shard": shardHeader(shard, protocol) },
    extensions: { tenant, shard },
  };
}

/**
 * The placement stage of one ingress: HTTP requests are forwarded to members' HTTP ingress,
 * gRPC calls to their gRPC ingress (and corral-shard lists the addresses of that protocol).
 */
export function placementStage(
  self: string,
  protocol: PlacementProtocol,
  onDecision: (outcome: PlacementOutcome) => void,
): Stage {
  let next = 0;
  return {
    name: "placement",
    run(ctx: RequestContext) {
      const tenant = ctx.tenant!;
      if (tenant.shard.length === 0) {
        onDecision("local");
        return undefined;
      }
      const config = ctx.config!;
      const decision = decidePlacement({
        self,
        shard: tenantShard(config, tenant.shard),
        strict: config.settings?.strictPlacement === true,
        forwardedBy: ctx.forwardedBy,
        start: next++,
        protocol,
      });
      if (next >= Number.MAX_SAFE_INTEGER) next = 0;
      onDecision(decision.kind);
      if (decision.kind === "forward") ctx.forward = { peers: decision.peers };
      if (decision.kind === "misdirected")
        return shardRejection("CORRAL_DP_MISDIRECTED", tenant.id, decision.shard, protocol);
      if (decision.kind === "unavailable")
        return shardRejection("CORRAL_DP_SHARD_UNAVAILABLE", tenant.id, decision.shard, protocol);
      return undefined;
    },
  };
}

/** The answer of the placement endpoint, or why not (401, 403, 404, 503 like a request). */
export async function placementAnswer(
  currentConfig: () => LiveConfig | undefined,
  ctx: RequestContext,
  tenantId: string,
): Promise<PlacementView | Rejection> {
  const rejection = await runStages([requireConfig(currentConfig), identifyTenant()], ctx);
  if (rejection) return rejection;
  const tenant = ctx.tenant!;
  if (tenant.id !== tenantId)
    return reject("CORRAL_DP_UNKNOWN_TENANT", "the API key belongs to another tenant");
  const config = ctx.config!;
  return { tenant: tenant.id, version: config.version, shard: tenantShard(config, tenant.shard) };
}
