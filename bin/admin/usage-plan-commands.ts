/** `corral admin` commands of usage plans: plans with their quotas, tenant and key quotas, usage. */
import { AdminApiError, type AdminClient, seg } from "./admin-client.ts";
import {
  type AdminCommand,
  body,
  integer,
  type Options,
  tenantPath,
  text,
  UsageError,
} from "./admin-commands.ts";
import { parseQuotaSpec } from "./quota-spec.ts";

const planPath = (name: string) => `/admin/v1/plans/${seg(name)}`;

function quota(opts: Options, allowPlan: boolean) {
  const raw = text(opts, "quota");
  if (raw === undefined) return undefined;
  try {
    return parseQuotaSpec(raw, allowPlan);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function requiredQuota(opts: Options, allowPlan: boolean) {
  const q = quota(opts, allowPlan);
  if (q === undefined) throw new UsageError("--quota is required");
  return q;
}

/** The plan as it is (404: undefined). */
async function currentPlan(c: AdminClient, name: string): Promise<Record<string, unknown> | undefined> {
  try {
    return await c.get<Record<string, unknown>>(planPath(name));
  } catch (err) {
    if (err instanceof AdminApiError && err.status === 404) return undefined;
    throw err;
  }
}

/** PUT of the plan: its current limits with the flags given over them (a new plan needs them all). */
async function setPlan(c: AdminClient, name: string, o: Options): Promise<unknown> {
  const current = (await currentPlan(c, name)) ?? {};
  const limits = body({
    rate: current.rate,
    burst: current.burst,
    concurrency: current.concurrency,
    priority: current.priority,
    shardSize: current.shardSize,
    ...body({
      rate: integer(o, "rate"),
      burst: integer(o, "burst"),
      concurrency: integer(o, "concurrency"),
      priority: text(o, "priority"),
      shardSize: integer(o, "shard-size"),
    }),
  });
  return c.put(planPath(name), body({ ...limits, quota: quota(o, false) }));
}

function usageQuery(o: Options): string {
  const query = new URLSearchParams(
    body({ from: text(o, "from"), to: text(o, "to"), granularity: text(o, "granularity") }) as Record<
      string,
      string
    >,
  );
  return query.size > 0 ? `?${query}` : "";
}

export const USAGE_PLAN_COMMANDS: Readonly<Record<string, AdminCommand>> = {
  "plans list": { args: [], options: [], run: (c) => c.get("/admin/v1/plans") },
  "plans get": { args: ["plan"], options: [], run: (c, [p]) => c.get(planPath(p!)) },
  "plans set": {
    args: ["plan"],
    options: ["rate", "burst", "concurrency", "priority", "shard-size", "quota"],
    mutates: true,
    run: (c, [p], o) => setPlan(c, p!, o),
  },
  "tenants quota": {
    args: ["tenant"],
    options: ["quota"],
    mutates: true,
    run: (c, [t], o) => c.patch(tenantPath(t!), { limits: { quota: requiredQuota(o, true) } }),
  },
  "keys quota": {
    args: ["tenant", "keyId"],
    options: ["quota"],
    mutates: true,
    run: (c, [t, k], o) => c.patch(`${tenantPath(t!)}/keys/${seg(k!)}`, { quota: requiredQuota(o, false) }),
  },
  "tenants usage": {
    args: ["tenant"],
    options: ["from", "to", "granularity"],
    run: (c, [t], o) => c.get(`${tenantPath(t!)}/usage${usageQuery(o)}`),
  },
  "usage top": {
    args: [],
    options: ["period", "limit"],
    run: (c, _a, o) => {
      const query = new URLSearchParams(
        body({ period: text(o, "period"), limit: text(o, "limit") }) as Record<string, string>,
      );
      return c.get(`/admin/v1/usage/top${query.size > 0 ? `?${query}` : ""}`);
    },
  },
};
