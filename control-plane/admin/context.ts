/** What the admin routes need (the admin service), and the one way they run a change. */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { AdminService } from "../service/admin-service.ts";
import type { Change } from "../service/config-changes.ts";
import { idempotencyKey } from "./validate.ts";

export type AdminContext = AdminService;

/** mutate() for a change of the tenant the path names (it is told which tenant changes). */
export function mutateTenant(
  ctx: AdminContext,
  req: FastifyRequest<{ Params: { tenantId: string } }>,
  reply: FastifyReply,
  change: (tenantId: string) => Change,
  opts: { grows?: boolean } = {},
): Promise<FastifyReply> {
  const { tenantId } = req.params;
  return mutate(ctx, req, reply, change(tenantId), { ...opts, tenantId });
}

/**
 * Runs `change` with the request's Idempotency-Key (scoped to the operator) and sends its
 * response; `tenantId` names the tenant whose config it alters (quotas and size,
 * service/config-growth.ts); a replay carries `Idempotent-Replayed: true`.
 */
export async function mutate(
  ctx: AdminContext,
  req: FastifyRequest,
  reply: FastifyReply,
  change: Change,
  opts: { grows?: boolean; tenantId?: string } = {},
): Promise<FastifyReply> {
  const result = await ctx.run(
    {
      operatorId: req.operator?.id,
      idempotencyKey: idempotencyKey(req.headers["idempotency-key"]),
      method: req.method,
      path: req.url.split("?")[0]!,
      body: req.body,
      ...opts,
    },
    change,
  );
  if (result.replayed) reply.header("idempotent-replayed", "true");
  reply.code(result.status);
  return result.status === 204 ? reply.send() : reply.send(result.body);
}
