/**
 * Runs a configuration change: one transaction holding the change, the bump of the change
 * counter (store/changes.ts: whichever replica publishes learns of it, even without the
 * notification) and, when the caller sent an idempotency key, the stored first response
 * (docs/design.md §7). A change of one tenant's config locks that tenant's row first and, before
 * commit, records its compiled size and — when it grows — checks its quotas and the fleet's
 * payload bound (config-growth.ts), so no commit leaves a snapshot that cannot be published.
 * After commit it asks this replica's publisher for a new version (a no-op unless this
 * replica holds the publisher lease). Transport-neutral: REST and gRPC store
 * their own response shapes under their own scopes.
 */
import { createHash } from "node:crypto";
import { hashesEqual } from "../../proto/api-key.ts";
import { CorralError } from "../errors.ts";
import { recordChange } from "../store/changes.ts";
import { type Pool, type TxClient, withTransaction } from "../store/db.ts";
import { findRecord, type StoredResponse, saveRecord, tryLockKey } from "../store/idempotency.ts";
import { lockTenantRow } from "../store/tenant-config.ts";
import { assertFleetStillFits, type GrowthBounds, settleTenantSize } from "./config-growth.ts";

export interface MutationResult extends StoredResponse {
  /** false when nothing changed (no publish needed); default true */
  changed?: boolean;
  /** the response as stored for replays, when it differs (e.g. without a secret shown once) */
  stored?: StoredResponse;
  /** the change is a rollback: publish that version's content until the next change */
  rollbackOf?: number;
}

/** One change of configuration, run by MutationRunner.run in its transaction. */
export type Change = (tx: TxClient) => Promise<MutationResult>;

export interface MutationRequest {
  /** who the key belongs to, e.g. `admin:<operator id>` */
  scope: string;
  idempotencyKey?: string;
  /** digest of everything that makes the request what it is (method, path, body) */
  requestHash: Buffer;
  /** true for changes that add config: checked against quotas and the payload bound */
  grows?: boolean;
  /** the tenant whose config the change alters (its row is locked, its size recorded) */
  tenantId?: string;
}

export interface MutationDeps {
  pool: Pool;
  /** called after a commit that changed something */
  onCommitted: () => void;
  /** throws CORRAL_SNAPSHOT_CAPACITY_EXCEEDED while growing the config cannot be published */
  assertCanGrow: () => void;
  /** the payload bound growing changes are checked against */
  bounds: GrowthBounds;
  ttlMs?: number;
}

export class MutationRunner {
  private readonly deps: MutationDeps;

  constructor(deps: MutationDeps) {
    this.deps = deps;
  }

  async run(
    req: MutationRequest,
    change: (tx: TxClient) => Promise<MutationResult>,
  ): Promise<StoredResponse & { replayed: boolean }> {
    if (req.grows) this.deps.assertCanGrow();
    const outcome = await withTransaction(this.deps.pool, async (tx) => {
      const key = req.idempotencyKey;
      if (key !== undefined) {
        const replay = await this.findReplay(tx, req.scope, key, req.requestHash);
        if (replay) return { ...replay, replayed: true, changed: false };
      }
      if (req.tenantId !== undefined) await lockTenantRow(tx, req.tenantId);
      const result = await change(tx);
      if (result.changed ?? true) {
        await this.settleSize(tx, req);
        await recordChange(tx, result.rollbackOf);
      }
      if (key !== undefined) {
        const stored = result.stored ?? { status: result.status, body: result.body };
        await saveRecord(tx, req.scope, key, { ...stored, requestHash: req.requestHash }, this.deps.ttlMs);
      }
      return { status: result.status, body: result.body, replayed: false, changed: result.changed ?? true };
    });
    if (outcome.changed) this.deps.onCommitted();
    return { status: outcome.status, body: outcome.body, replayed: outcome.replayed };
  }

  private async settleSize(tx: TxClient, req: MutationRequest): Promise<void> {
    const grows = req.grows ?? false;
    if (req.tenantId !== undefined) await settleTenantSize(tx, req.tenantId, this.deps.bounds, grows);
    else if (grows) await assertFleetStillFits(tx, this.deps.bounds);
  }

  private async findReplay(
    tx: TxClient,
    scope: string,
    key: string,
    requestHash: Buffer,
  ): Promise<StoredResponse | undefined> {
    if (!(await tryLockKey(tx, scope, key))) {
      throw new CorralError(
        "CORRAL_ADMIN_IDEMPOTENCY_IN_FLIGHT",
        "a request with this Idempotency-Key is still running",
      );
    }
    const record = await findRecord(tx, scope, key);
    if (!record) return undefined;
    if (!hashesEqual(record.requestHash, requestHash)) {
      throw new CorralError(
        "CORRAL_ADMIN_IDEMPOTENCY_MISMATCH",
        "this Idempotency-Key was first used with a different method, path or body",
      );
    }
    return { status: record.status, body: record.body };
  }
}

/** JSON with object keys sorted at every level: equal values give equal strings. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

export function hashRequest(method: string, path: string, body: unknown): Buffer {
  return createHash("sha256")
    .update(`${method}\n${path}\n${canonicalJson(body ?? null)}`)
    .digest();
}
