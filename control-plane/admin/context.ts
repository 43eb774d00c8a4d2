/** What the admin routes need, and the one way they run a change. */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Snapshot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import type { PlacementService } from "../fleet/placement-service.ts";
import type { FailedAuthThrottle } from "../service/failed-auth-throttle.ts";
import type { GrowthBounds } from "../service/config-growth.ts";
import type { MutationResult, MutationRunner } from "../service/mutations.ts";
import { hashRequest } from "../service/mutations.ts";
import type { Pool, Queryable, TxClient } from "../store/db.ts";
import { idempotencyKey } from "./validate.ts";

export interface AdminContext {
  pool: Pool;
  mutations: MutationRunner;
  /** a node not seen for this long is shown as disconnected */
  fleetStaleMs: number;
  /** slots and shards, computed as the snapshot compiler does */
  placement: PlacementService;
  /** published versions' content, verified (rollback) */
  published: { loadPublished(q: Queryable, version: number): Promise<Snapshot> };
  /** failed operator authentications per source address */
  authThrottle: FailedAuthThrottle;
  /** the payload bound changes are checked against (GET /config/usage) */
  bounds: GrowthBounds;
}

/**
 * Runs `change` in a transaction with the request's Idempotency-Key (scoped to the
 * operator) and sends its response; `tenantId` names the tenant whose config it alters (quotas and
 * size, service/config-growth.ts); a replay carries `Idempotent-Replayed: true`.
 */
export async function mutate(
  ctx: AdminContext,
  req: FastifyRequest,
  reply: FastifyReply,
  change: (tx: TxClient) => Promise<MutationResult>,
  opts: { grows?: boolean; tenantId?: string } = {},
): Promise<FastifyReply> {
  const result = await ctx.mutations.run(
    {
      scope: `admin:${req.operator?.id ?? "anonymous"}`,
      idempotencyKey: idempotencyKey(req.headers["idempotency-key"]),
      requestHash: hashRequest(req.method, req.url.split("?")[0]!, req.body),
      grows: opts.grows,
      tenantId: opts.tenantId,
    },
    change,
  );
  if (result.replayed) reply.header("idempotent-replayed", "true");
  reply.code(result.status);
  return result.status === 204 ? reply.send() : reply.send(result.body);
}
