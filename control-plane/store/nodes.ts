/** The data-plane fleet as this CP sees it: one row per slot, written by the sync server. */
import type { Queryable } from "./db.ts";

export interface NodeHello {
  slot: string;
  zone: string;
  nodeId: string;
  httpUrl: string;
  grpcAddress: string;
  build: string;
  version: number;
}

export interface NodeRow {
  slot: string;
  zone: string;
  node_id: string;
  http_url: string;
  grpc_address: string;
  build: string;
  applied_version: number;
  last_seen: Date;
  last_error: string | null;
  status: Record<string, unknown> | null;
  connected_cp: string | null;
  connection_id: string | null;
  first_seen: Date;
}

export interface NodeView {
  slot: string;
  zone: string;
  node: string;
  httpUrl: string;
  grpcAddress: string;
  build: string;
  appliedVersion: number;
  lastSeen: string;
  lastError: string | null;
  status: Record<string, unknown> | null;
  connected: boolean;
  controlPlane: string | null;
}

const MAX_ERROR_LENGTH = 1024;

/**
 * SQL: the slot in parameter $slot may hold a node — it is declared, already registered, or
 * the fleet (declared and registered slots) has fewer than $max slots.
 */
const admissible = (slot: string, max: string) =>
  `(EXISTS (SELECT 1 FROM slots WHERE name = ${slot}) OR EXISTS (SELECT 1 FROM nodes WHERE slot = ${slot})
    OR (SELECT count(*) FROM (SELECT name FROM slots UNION SELECT slot FROM nodes) AS known) < ${max})`;

/** Whether a node of this slot may register now (see admissible); checked again when it does. */
export async function slotAdmissible(q: Queryable, slot: string, maxSlots: number): Promise<boolean> {
  const { rows } = await q.query<{ ok: boolean }>(`SELECT ${admissible("$1", "$2")} AS ok`, [slot, maxSlots]);
  return rows[0]?.ok === true;
}

/** Records the node's connection; false (nothing written) when its slot is not admissible. */
export async function registerConnection(
  q: Queryable,
  hello: NodeHello,
  cpId: string,
  connectionId: string,
  maxSlots: number,
): Promise<boolean> {
  const { rowCount } = await q.query(
    `INSERT INTO nodes (slot, zone, node_id, http_url, grpc_address, build, applied_version,
                        last_seen, connected_cp, connection_id)
     SELECT $1, $2, $3, $4, $5, $6, $7, now(), $8, $9 WHERE ${admissible("$1", "$10")}
     ON CONFLICT (slot) DO UPDATE SET zone = EXCLUDED.zone, node_id = EXCLUDED.node_id,
       http_url = EXCLUDED.http_url, grpc_address = EXCLUDED.grpc_address, build = EXCLUDED.build,
       applied_version = EXCLUDED.applied_version, last_seen = now(),
       connected_cp = EXCLUDED.connected_cp, connection_id = EXCLUDED.connection_id`,
    [
      hello.slot,
      hello.zone,
      hello.nodeId,
      hello.httpUrl,
      hello.grpcAddress,
      hello.build,
      hello.version,
      cpId,
      connectionId,
      maxSlots,
    ],
  );
  return (rowCount ?? 0) > 0;
}

/** Many nodes' Acks in one statement: each slot's newest acked version (sync/ack-batch.ts). */
export async function recordAppliedMany(
  q: Queryable,
  acks: ReadonlyArray<{ slot: string; version: number }>,
): Promise<void> {
  if (acks.length === 0) return;
  await q.query(
    `UPDATE nodes n SET applied_version = a.version, last_error = NULL, last_seen = now()
     FROM (SELECT slot, max(version) AS version FROM unnest($1::text[], $2::bigint[]) AS u(slot, version)
           GROUP BY slot) a
     WHERE n.slot = a.slot`,
    [acks.map((a) => a.slot), acks.map((a) => a.version)],
  );
}

export async function recordError(q: Queryable, slot: string, error: string): Promise<void> {
  await q.query("UPDATE nodes SET last_error = $2, last_seen = now() WHERE slot = $1", [
    slot,
    error.slice(0, MAX_ERROR_LENGTH),
  ]);
}

export async function recordStatus(
  q: Queryable,
  slot: string,
  status: Record<string, unknown>,
): Promise<void> {
  const fetchError = typeof status.fetchError === "string" && status.fetchError ? status.fetchError : null;
  await q.query(
    `UPDATE nodes SET status = $2, last_seen = now(),
       last_error = COALESCE($3, last_error) WHERE slot = $1`,
    [slot, JSON.stringify(status), fetchError && `fetch: ${fetchError}`.slice(0, MAX_ERROR_LENGTH)],
  );
}

/** Clears the connection only if it is still the one recorded (a newer one may have replaced it). */
export async function markDisconnected(q: Queryable, slot: string, connectionId: string): Promise<void> {
  await q.query(
    "UPDATE nodes SET connected_cp = NULL, connection_id = NULL, last_seen = now() WHERE slot = $1 AND connection_id = $2",
    [slot, connectionId],
  );
}

export async function touchConnected(q: Queryable, cpId: string, connectionIds: string[]): Promise<void> {
  if (connectionIds.length === 0) return;
  await q.query("UPDATE nodes SET last_seen = now() WHERE connected_cp = $1 AND connection_id = ANY($2)", [
    cpId,
    connectionIds,
  ]);
}

/** Forgets every connection a CP replica held (at its start and its close). */
export async function releaseConnections(q: Queryable, cpId: string): Promise<void> {
  await q.query("UPDATE nodes SET connected_cp = NULL, connection_id = NULL WHERE connected_cp = $1", [cpId]);
}

export async function listNodeRows(q: Queryable): Promise<NodeRow[]> {
  const { rows } = await q.query<NodeRow>("SELECT * FROM nodes ORDER BY slot");
  return rows;
}

/** A node counts as connected while a CP holds its connection and has seen it within staleMs. */
export async function listFleet(q: Queryable, staleMs: number): Promise<NodeView[]> {
  const { rows } = await q.query<NodeRow & { connected: boolean }>(
    `SELECT *, (connected_cp IS NOT NULL AND last_seen > now() - $1 * interval '1 millisecond') AS connected
     FROM nodes ORDER BY slot`,
    [staleMs],
  );
  return rows.map((r) => ({
    slot: r.slot,
    zone: r.zone,
    node: r.node_id,
    httpUrl: r.http_url,
    grpcAddress: r.grpc_address,
    build: r.build,
    appliedVersion: r.applied_version,
    lastSeen: r.last_seen.toISOString(),
    lastError: r.last_error,
    status: r.status,
    connected: r.connected,
    controlPlane: r.connected ? r.connected_cp : null,
  }));
}
