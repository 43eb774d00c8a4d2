/**
 * What the next version holds, read in one repeatable-read transaction: its number (from
 * the sequence), the change counter it covers, and either the whole fleet compiled from the
 * tables or, while a rollback is recorded, the rolled-back version's content re-stamped.
 */
import type { KeyObject } from "node:crypto";
import type { BlobStore } from "../../proto/blob-store/blob-store.ts";
import type { Snapshot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { readChangeState } from "../store/changes.ts";
import { nextVersion } from "../store/config-versions.ts";
import { type Pool, withTransaction } from "../store/db.ts";
import { loadFleetRows } from "../store/fleet-rows.ts";
import { type CompileOptions, compileSnapshot } from "./compile.ts";
import { loadPublishedSnapshot, restamp } from "./rollback.ts";

export interface SnapshotContent {
  version: number;
  snapshot: Snapshot;
  /** every change counted up to here is in this content */
  changeCounter: number;
  /** set when the content is that earlier version's */
  rollbackOf: number | undefined;
}

export interface ContentSources {
  pool: Pool;
  blobStore: BlobStore;
  publicKey: KeyObject;
  compileOptions?: () => Partial<CompileOptions>;
}

export function readSnapshotContent(
  src: ContentSources,
  epoch: number,
  createdAtMs: number,
): Promise<SnapshotContent> {
  return withTransaction(
    src.pool,
    async (tx) => {
      const version = await nextVersion(tx);
      const change = await readChangeState(tx);
      const stamp = { version, epoch, createdAtMs };
      const snapshot =
        change.rollbackOf === undefined
          ? compileSnapshot(await loadFleetRows(tx), {
              ...(src.compileOptions?.() ?? {}),
              ...stamp,
              nowMs: createdAtMs,
            })
          : restamp(await loadPublishedSnapshot(tx, src.blobStore, src.publicKey, change.rollbackOf), stamp);
      return { version, snapshot, changeCounter: change.counter, rollbackOf: change.rollbackOf };
    },
    "repeatable read",
  );
}
