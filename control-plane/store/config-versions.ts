/** Published config versions and what each node reported for them. */
import type { Queryable } from "./db.ts";

export const VERSIONS_CHANNEL = "corral_versions";

export interface NewVersion {
  version: number;
  epoch: number;
  sha256: string;
  blobKey: string;
  sizeBytes: number;
  capacityBytes: number;
  tenants: number;
  source: string;
  publisher: string;
  /** config_changes.counter read with the content: every change up to it is in this version */
  changeCounter?: number;
  /** the version whose content this one republishes */
  rollbackOf?: number;
}

/** Only the lease holder of that epoch, while its lease is unexpired, may record a version. */
export interface VersionFence {
  name: string;
  holder: string;
  epoch: number;
}

export interface VersionView extends NewVersion {
  createdAt: string;
  acks: number;
  nacks: number;
  /** when the last node acknowledged it (the rollout's duration is this minus createdAt) */
  lastAckAt: string | null;
}

export interface LatestVersion {
  version: number;
  sha256: string;
  blobKey: string;
  createdAtMs: number;
}

/** Next version number: a Postgres sequence, so versions only ever grow. */
export async function nextVersion(tx: Queryable): Promise<number> {
  const { rows } = await tx.query<{ v: number }>("SELECT nextval('config_version_seq') AS v");
  return rows[0]!.v;
}

const VERSION_COLUMNS =
  "version, epoch, sha256, blob_key, size_bytes, capacity_bytes, tenants, source, publisher, change_counter, rollback_of";

/**
 * Records a published version and notifies VERSIONS_CHANNEL, in one statement. With a
 * fence, the row is inserted only if the lease row still names that holder and epoch and
 * has not expired on the database clock; the lease row is locked (FOR SHARE) meanwhile, so
 * a takeover either commits first (and the insert finds no lease: false) or waits for this
 * statement. No lock outlives the statement, so a paused publisher blocks no one.
 */
export async function insertVersion(q: Queryable, v: NewVersion, fence?: VersionFence): Promise<boolean> {
  const values: (string | number | null)[] = [
    v.version,
    v.epoch,
    v.sha256,
    v.blobKey,
    v.sizeBytes,
    v.capacityBytes,
    v.tenants,
    v.source,
  ];
  values.push(v.publisher, v.changeCounter ?? 0, v.rollbackOf ?? null);
  const select =
    "SELECT $1::bigint, $2::bigint, $3, $4, $5::int, $6::int, $7::int, $8, $9, $10::bigint, $11::bigint";
  const lease = fence
    ? `lease AS (SELECT 1 FROM publisher_lease
         WHERE name = $12 AND holder = $13 AND epoch = $14 AND expires_at > clock_timestamp() FOR SHARE),`
    : "";
  if (fence) values.push(fence.name, fence.holder, fence.epoch);
  const { rows } = await q.query(
    `WITH ${lease}
     ins AS (INSERT INTO config_versions (${VERSION_COLUMNS}) ${select} ${fence ? "FROM lease" : ""} RETURNING version)
     SELECT pg_notify('${VERSIONS_CHANNEL}', version::text) FROM ins`,
    values,
  );
  return rows.length === 1;
}

export interface StoredVersion {
  version: number;
  blobKey: string;
  sha256: string;
  capacityBytes: number;
  /** its blob left the retention window (deleted, or about to be) */
  expired: boolean;
}

export async function getVersion(q: Queryable, version: number): Promise<StoredVersion | undefined> {
  const { rows } = await q.query<{
    version: number;
    blob_key: string;
    sha256: string;
    capacity_bytes: number;
    expired: boolean;
  }>(
    `SELECT version, blob_key, sha256, capacity_bytes, blob_expired_at IS NOT NULL AS expired
     FROM config_versions WHERE version = $1`,
    [version],
  );
  const r = rows[0];
  return (
    r && {
      version: r.version,
      blobKey: r.blob_key,
      sha256: r.sha256,
      capacityBytes: r.capacity_bytes,
      expired: r.expired,
    }
  );
}

export async function latestVersion(q: Queryable): Promise<LatestVersion | undefined> {
  const { rows } = await q.query<{ version: number; sha256: string; blob_key: string; created_at: Date }>(
    "SELECT version, sha256, blob_key, created_at FROM config_versions ORDER BY version DESC LIMIT 1",
  );
  const r = rows[0];
  return (
    r && { version: r.version, sha256: r.sha256, blobKey: r.blob_key, createdAtMs: r.created_at.getTime() }
  );
}

export async function listVersions(q: Queryable, limit: number): Promise<VersionView[]> {
  const { rows } = await q.query(
    `SELECT v.*, COALESCE(r.acks, 0)::int AS acks, COALESCE(r.nacks, 0)::int AS nacks, r.last_ack_at
     FROM (SELECT * FROM config_versions ORDER BY version DESC LIMIT $1) v
     LEFT JOIN (SELECT version, count(*) FILTER (WHERE ok) AS acks, count(*) FILTER (WHERE NOT ok) AS nacks,
                       max(reported_at) FILTER (WHERE ok) AS last_ack_at
                FROM version_reports GROUP BY version) r ON r.version = v.version
     ORDER BY v.version DESC`,
    [limit],
  );
  return rows.map((r) => ({
    version: r.version,
    epoch: r.epoch,
    sha256: r.sha256,
    blobKey: r.blob_key,
    sizeBytes: r.size_bytes,
    capacityBytes: r.capacity_bytes,
    tenants: r.tenants,
    source: r.source,
    publisher: r.publisher,
    createdAt: (r.created_at as Date).toISOString(),
    acks: r.acks,
    nacks: r.nacks,
    lastAckAt: r.last_ack_at ? (r.last_ack_at as Date).toISOString() : null,
  }));
}

export interface VersionReport {
  version: number;
  slot: string;
  ok: boolean;
  error?: string;
  latencyMs?: number;
}

/** Records an Ack or Nack; ignored for versions this database never published. */
export async function recordReport(q: Queryable, r: VersionReport): Promise<void> {
  await q.query(
    `INSERT INTO version_reports (version, slot, ok, error, latency_ms)
     SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM config_versions WHERE version = $1)
     ON CONFLICT (version, slot) DO UPDATE SET ok = EXCLUDED.ok, error = EXCLUDED.error,
       latency_ms = COALESCE(version_reports.latency_ms, EXCLUDED.latency_ms), reported_at = now()`,
    [r.version, r.slot, r.ok, r.error?.slice(0, 1024) ?? null, r.latencyMs ?? null],
  );
}

/** Keeps the reports of the newest `keep` versions only. */
export async function pruneReports(q: Queryable, keep: number): Promise<void> {
  await q.query(
    `DELETE FROM version_reports WHERE version <= (SELECT version FROM config_versions ORDER BY version DESC OFFSET $1 LIMIT 1)`,
    [keep],
  );
}
