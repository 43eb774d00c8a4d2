/**
 * Has every node applied the newest config? The newest published version comes from the
 * control plane's admin API; each node's from its ops /status.
 */
import type { AdminClient } from "../../bin/admin/admin-client.ts";
import { fetchStatus, type WatchedNode } from "./node-watch.ts";

export async function latestPublished(admin: AdminClient): Promise<number> {
  const page = await admin.get<{ items: Array<{ version: number }> }>("/admin/v1/config/versions?limit=1");
  return page.items[0]?.version ?? 0;
}

export type Convergence = {
  version: number;
  behind: Array<{ slot: string; version: number | null }>;
  ms: number;
};

/** Waits (polling every 100 ms, at most `timeoutMs`) until every node serves at least `version`. */
export async function waitForVersion(
  nodes: WatchedNode[],
  version: number,
  timeoutMs: number,
): Promise<Convergence> {
  const started = performance.now();
  for (;;) {
    const statuses = await Promise.all(nodes.map((n) => fetchStatus(n.ops)));
    const behind = nodes
      .map((n, i) => ({ slot: n.slot, version: statuses[i]?.version ?? null }))
      .filter((n) => n.version === null || n.version < version);
    const ms = performance.now() - started;
    if (behind.length === 0 || ms >= timeoutMs) return { version, behind, ms };
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Waits for the newest version the control plane published to reach every node. The
 * publisher debounces changes, so the newest version is read again until it holds still.
 */
export async function waitForLatest(
  admin: AdminClient,
  nodes: WatchedNode[],
  timeoutMs: number,
): Promise<Convergence> {
  const started = performance.now();
  let version = await latestPublished(admin);
  for (;;) {
    const left = Math.max(0, timeoutMs - (performance.now() - started));
    const result = await waitForVersion(nodes, version, left);
    const newest = await latestPublished(admin);
    if (newest === version || left === 0) return { ...result, ms: performance.now() - started };
    version = newest;
  }
}
