/**
 * What the next version holds, read in one repeatable-read transaction: its number (from
 * the sequence), the change counter it covers, and its encoded payload: either the whole
 * fleet compiled from the tables (incrementally: incremental-compile.ts re-encodes only the
 * tenants that changed, named by the change log of store/tenant-changes.ts) or, while a rollback is recorded, the rolled-back version's content
 * re-stamped.
 */
import type { KeyObject } from "node:crypto";
import type { BlobStore } from "../../runtime/blob-store/blob-store.ts";
import { Snapshot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { readChangeState } from "../store/changes.ts";
import { nextVersion } from "../store/config-versions.ts";
import { type Pool, type TxClient, withTransaction } from "../store/db.ts";
import { loadFleetParts } from "../store/fleet-rows.ts";
import { changePosition, tenantsChangedSince } from "../store/tenant-changes.ts";
import { listTenantRevisions, loadTenantRows } from "../store/tenant-revisions.ts";
import type { CompileOptions } from "./compile.ts";
import type { CompileRun, CompileSource, IncrementalCompiler } from "./incremental-compile.ts";
import type { PublishTrace } from "./publish-trace.ts";
import type { PayloadSegment } from "./segment-gzip.ts";
import { loadPublishedSnapshot, restamp } from "./rollback.ts";

export interface SnapshotContent {
  version: number;
  /** the encoded Snapshot protobuf (before compression) */
  payload: Buffer;
  /** the payload in segments when it was compiled (segment-gzip.ts); a rollback has none */
  segments?: PayloadSegment[];
  tenants: number;
  /** every change counted up to here is in this content */
  changeCounter: number;
  /** set when the content is that earlier version's */
  rollbackOf: number | undefined;
}

export interface ContentSources {
  pool: Pool;
  blobStore: BlobStore;
  publicKey: KeyObject;
  /** keeps the tenants' encoded entries from one version to the next */
  compiler: IncrementalCompiler;
  compileOptions?: () => Partial<CompileOptions>;
}

export function readSnapshotContent(
  src: ContentSources,
  epoch: number,
  createdAtMs: number,
  trace?: PublishTrace,
  run: CompileRun = {},
): Promise<SnapshotContent> {
  return withTransaction(
    src.pool,
    async (tx) => {
      const version = await nextVersion(tx);
      const change = await readChangeState(tx);
      const stamp = { version, epoch, createdAtMs };
      const common = { version, changeCounter: change.counter, rollbackOf: change.rollbackOf };
      trace?.mark("transaction");
      if (change.rollbackOf === undefined) {
        const opts = { ...(src.compileOptions?.() ?? {}), ...stamp, nowMs: createdAtMs };
        const { payload, tenants, segments } = await src.compiler.compile(
          compileSource(tx, trace),
          opts,
          run,
        );
        trace?.mark("compile");
        return { ...common, payload, tenants, segments };
      }
      const earlier = await loadPublishedSnapshot(tx, src.blobStore, src.publicKey, change.rollbackOf);
      const snapshot = restamp(earlier, stamp);
      return {
        ...common,
        payload: Buffer.from(Snapshot.encode(snapshot).finish()),
        tenants: snapshot.tenants.length,
      };
    },
    "repeatable read",
  );
}

/** The incremental compiler's reads, all inside one transaction. */
export function compileSource(tx: TxClient, trace?: PublishTrace): CompileSource {
  return {
    parts: () => marked(loadFleetParts(tx), "parts", trace),
    revisions: (ids) => marked(listTenantRevisions(tx, ids), "revisions", trace),
    rows: (ids) => loadTenantRows(tx, ids),
    position: () => changePosition(tx),
    changedSince: (position) => tenantsChangedSince(tx, position),
  };
}

async function marked<T>(read: Promise<T>, phase: "parts" | "revisions", trace?: PublishTrace): Promise<T> {
  const value = await read;
  trace?.mark(phase);
  return value;
}
