/**
 * Rollback: the content of an earlier version, read back from the blob store and verified
 * with this control plane's own public key, to be republished as a new, higher version
 * (DPs never go back to a lower one). The tables are not changed: the rollback is recorded
 * in config_changes.rollback_of, every version published while it is set republishes that
 * content, and the next operator change clears it and compiles from the tables again.
 * Only versions inside the retention window can be rolled back to (snapshot-retention.ts);
 * older ones answer CORRAL_ADMIN_VERSION_GONE.
 */
import type { KeyObject } from "node:crypto";
import { BlobNotFoundError, type BlobStore, BlobTooLargeError } from "../../runtime/blob-store/blob-store.ts";
import type { Snapshot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { decodeSnapshot } from "../../proto/snapshot-codec.ts";
import { SnapshotError } from "../../proto/snapshot-errors.ts";
import { CorralError } from "../errors.ts";
import { getVersion } from "../store/config-versions.ts";
import type { Queryable } from "../store/db.ts";
import { oldestVersion } from "../store/version-retention.ts";

export interface Stamp {
  version: number;
  epoch: number;
  createdAtMs: number;
}

export function rollbackSource(version: number): string {
  return `rollback of ${version}`;
}

/** The published content of `version`, verified (signature, digest, size) and decoded. */
export async function loadPublishedSnapshot(
  q: Queryable,
  blobStore: BlobStore,
  publicKey: KeyObject,
  version: number,
): Promise<Snapshot> {
  const row = await getVersion(q, version);
  if (!row) throw await unknownVersion(q, version);
  if (row.expired) throw versionGone(version, "its snapshot was deleted");
  let snapshot: Snapshot;
  try {
    const blob = await blobStore.get(row.blobKey, row.capacityBytes);
    snapshot = decodeSnapshot(blob, publicKey, row.capacityBytes);
  } catch (err) {
    if (err instanceof BlobNotFoundError || err instanceof BlobTooLargeError || err instanceof SnapshotError)
      throw new CorralError("CORRAL_ADMIN_ROLLBACK_UNAVAILABLE", `version ${version}: ${err.message}`);
    throw new CorralError("CORRAL_CP_BLOB_UNAVAILABLE", `could not read version ${version}: ${String(err)}`);
  }
  if (snapshot.version !== version)
    throw new CorralError(
      "CORRAL_ADMIN_ROLLBACK_UNAVAILABLE",
      `the blob of version ${version} holds version ${snapshot.version}`,
    );
  return snapshot;
}

function versionGone(version: number, why: string): CorralError {
  return new CorralError(
    "CORRAL_ADMIN_VERSION_GONE",
    `version ${version} is outside the retained history (CORRAL_SNAPSHOT_RETAIN): ${why}`,
  );
}

/** A version with no row: older than every row means pruned, else it was never published. */
async function unknownVersion(q: Queryable, version: number): Promise<CorralError> {
  const oldest = await oldestVersion(q);
  if (oldest !== undefined && version < oldest) return versionGone(version, "its record was pruned");
  return new CorralError("CORRAL_ADMIN_NOT_FOUND", `config version ${version} was never published`);
}

/** The same content under a new version, epoch and creation time. Pure. */
export function restamp(snapshot: Snapshot, stamp: Stamp): Snapshot {
  return { ...snapshot, version: stamp.version, epoch: stamp.epoch, createdAtMs: stamp.createdAtMs };
}
