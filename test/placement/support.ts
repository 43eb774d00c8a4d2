/** Helpers for the placement tests: the published snapshot, bulk tenants, row counts. */
import { LATEST_KEY, parsePointer } from "../../proto/blob-keys.ts";
import type { Snapshot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { decodeSnapshot } from "../../proto/snapshot-codec.ts";
import type { Harness } from "../control-plane/harness.ts";

/** The snapshot LATEST points at, decoded and verified. */
export async function publishedSnapshot(h: Harness): Promise<Snapshot> {
  const capacity = Number(h.env.CORRAL_SNAPSHOT_CAPACITY);
  const pointer = parsePointer(await h.blobs.get(LATEST_KEY, 4096));
  return decodeSnapshot(await h.blobs.get(pointer.key, capacity), h.publicKey, capacity);
}

/** Waits for publishes to settle, then returns the newest snapshot. */
export async function settledSnapshot(h: Harness): Promise<Snapshot> {
  await h.cp.publisher.idle();
  return publishedSnapshot(h);
}

/** Inserts `count` tenants `<prefix>-0000...` on `plan` in one statement. */
export async function insertTenants(
  h: Harness,
  prefix: string,
  count: number,
  plan = "standard",
): Promise<void> {
  await h.cp.pool.query(
    `INSERT INTO tenants (id, name, plan)
     SELECT $1 || '-' || lpad(i::text, 5, '0'), 'Tenant ' || i, $3 FROM generate_series(0, $2 - 1) AS i`,
    [prefix, count, plan],
  );
}

/** Inserts registered nodes (as if they had said Hello), connected to `cp` or not. */
export async function insertNodes(
  h: Harness,
  nodes: { slot: string; zone: string; connected?: boolean; lastSeenAgoMs?: number }[],
): Promise<void> {
  for (const n of nodes) {
    await h.cp.pool.query(
      `INSERT INTO nodes (slot, zone, node_id, last_seen, connected_cp, connection_id)
       VALUES ($1, $2, $1, now() - $3 * interval '1 millisecond', $4, $5)`,
      [
        n.slot,
        n.zone,
        n.lastSeenAgoMs ?? 0,
        n.connected === false ? null : "cp-test",
        n.connected === false ? null : n.slot,
      ],
    );
  }
}

/** Row counts of the tables a limits or slots request may touch. */
export async function tableCounts(h: Harness): Promise<Record<string, unknown>> {
  const { rows } = await h.cp.pool.query(
    `SELECT (SELECT json_agg(p ORDER BY name) FROM plans p) AS plans,
            (SELECT json_agg(t ORDER BY id) FROM (SELECT id, plan, rate, burst, concurrency, priority, shard_size,
               limits_shadow, limits_disabled, updated_at FROM tenants) t) AS tenants,
            (SELECT json_agg(s ORDER BY name) FROM slots s) AS slots,
            (SELECT json_agg(s) FROM settings s) AS settings,
            (SELECT count(*)::int FROM routes) AS routes`,
  );
  return rows[0];
}
