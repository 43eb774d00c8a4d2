/**
 * Placement-aware routing (docs/design.md §4): the harness asks a data plane
 * `GET /.well-known/corral/placement/<tenant>` and sends the tenant's traffic straight to
 * its shard, spread over the members, failing over to the next member when one refuses
 * connections. A node that does not know the endpoint (404) or an answer the harness
 * cannot map to nodes leaves the tenant on every node (the nodes forward).
 */
import { request } from "undici";
import type { AdminClient } from "../../bin/admin/admin-client.ts";
import { isLoopbackHost } from "../generator/loopback.ts";

export type NodeAddress = { slot: string; url: string };

export type Shard = {
  tenant: string;
  /** ingress origins of the members, live ones first, in the shard's preference order */
  origins: string[];
  slots: string[];
  /** "fallback": no node knows the endpoint; "empty": a node answered with no usable member */
  source: "placement" | "fallback" | "empty";
};

/** A member as both the data plane's placement endpoint and the admin API report it. */
type Member = { slot?: string; url?: string; live: boolean };

function member(raw: unknown): Member | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const o = raw as Record<string, unknown>;
  return {
    slot: typeof o.slot === "string" ? o.slot : undefined,
    url: typeof o.url === "string" ? o.url : undefined,
    live: o.live !== false,
  };
}

function loopbackOrigin(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" && isLoopbackHost(parsed.hostname) ? parsed.origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Maps a placement answer `{shard: [{slot, url?, live}]}` (the data plane's endpoint; the admin
 * API's has no url) to node origins. A member's own URL wins when it is a loopback http URL,
 * else its slot's known node. Pure.
 */
export function shardOrigins(body: unknown, nodes: NodeAddress[]): { origins: string[]; slots: string[] } {
  if (typeof body !== "object" || body === null) return { origins: [], slots: [] };
  const o = body as Record<string, unknown>;
  const list = Array.isArray(o.shard) ? o.shard : [];
  const members = list.map(member).filter((m): m is Member => m !== undefined);
  const ordered = [...members.filter((m) => m.live), ...members.filter((m) => !m.live)];
  const origins: string[] = [];
  const slots: string[] = [];
  for (const m of ordered) {
    const known = nodes.find((n) => n.slot === m.slot)?.url;
    const origin = loopbackOrigin(m.url) ?? loopbackOrigin(known);
    if (!origin || origins.includes(origin)) continue;
    origins.push(origin);
    slots.push(m.slot ?? origin);
  }
  return { origins, slots };
}

async function askNode(node: NodeAddress, tenant: string, key: string): Promise<unknown> {
  const res = await request(`${node.url}/.well-known/corral/placement/${encodeURIComponent(tenant)}`, {
    headers: { "x-api-key": key, accept: "application/json" },
    headersTimeout: 3000,
    bodyTimeout: 3000,
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) return undefined;
  return JSON.parse(text);
}

/** The tenant's shard as the first node that answers reports it, else every node. */
export async function resolveShard(nodes: NodeAddress[], tenant: string, key: string): Promise<Shard> {
  let answered = false;
  for (const node of nodes) {
    const body = await askNode(node, tenant, key).catch(() => undefined);
    if (body === undefined) continue;
    answered = true;
    const { origins, slots } = shardOrigins(body, nodes);
    if (origins.length > 0) return { tenant, origins, slots, source: "placement" };
  }
  const source = answered ? "empty" : "fallback";
  return { tenant, origins: nodes.map((n) => n.url), slots: nodes.map((n) => n.slot), source };
}

/** The tenant's shard as the control plane computes it (GET /admin/v1/tenants/:id/placement). */
export async function adminShard(admin: AdminClient, tenant: string, nodes: NodeAddress[]): Promise<Shard> {
  const body = await admin.get<unknown>(`/admin/v1/tenants/${encodeURIComponent(tenant)}/placement`);
  return { tenant, ...shardOrigins(body, nodes), source: "placement" };
}
