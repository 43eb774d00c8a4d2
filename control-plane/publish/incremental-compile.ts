/**
 * Compiles the whole-fleet snapshot payload without recompiling the world (issue 14 item 5).
 * Every version still carries the whole state; what is kept between versions is each tenant's
 * encoded entry (snapshot-payload.ts), with what it was built from: the tenant's config
 * revision (store/tenant-revisions.ts: bumped by any change of its row, keys, routes or
 * upstreams), its plan's values and its shard. A compile reads every tenant's revision, asks
 * the placement hook for every shard (the shard cache answers from memory while the slot set
 * is unchanged), and loads and encodes only the tenants whose revision, plan or shard differs;
 * the rest are reused as they are. A plan change re-encodes the plan's tenants, a slot-set
 * change every tenant whose shard moved. The result is byte-identical to
 * Snapshot.encode(compileSnapshot(all rows)) (incremental-compile.test.ts) and it is checked the
 * same way (consistency.ts); on any problem nothing is kept.
 *
 * One instance per publisher; compiles never overlap (the publisher runs them one at a time).
 */
import type { FleetParts } from "../store/fleet-rows.ts";
import type { TenantRevision, TenantRows } from "../store/tenant-revisions.ts";
import type { PlanRow } from "../store/tenants.ts";
import {
  assertConsistent,
  type CompileOptions,
  compare,
  compileSlots,
  compileTenant,
  groupChildren,
  missingPlan,
  snapshotFrame,
} from "./compile.ts";
import { publicHosts } from "../../proto/snapshot-consistency.ts";
import { ConsistencyCheck, type KeyIdentity, keyIdentities } from "./consistency.ts";
import { assemblePayload, tenantEntry } from "./snapshot-payload.ts";

/** Where a compile reads from: in the publisher, one repeatable-read transaction. */
export interface CompileSource {
  parts(): Promise<FleetParts>;
  revisions(): Promise<TenantRevision[]>;
  /** the rows of these tenants; all tenants' when undefined */
  rows(ids?: readonly string[]): Promise<TenantRows>;
}

export interface CompiledPayload {
  /** the encoded Snapshot */
  payload: Buffer;
  tenants: number;
  /** tenants encoded by this compile (the others were reused) */
  encoded: number;
}

interface Fragment {
  rev: string;
  /** the plan's values the entry was built with */
  plan: string;
  shardSize: number;
  shard: readonly string[];
  keys: readonly KeyIdentity[];
  /** its public routes' hosts (each public for one tenant only) */
  publicHosts: readonly string[];
  entry: Uint8Array;
}

/** Past this share of tenants to encode, one scan of every row is cheaper than a list of ids. */
const LOAD_ALL_RATIO = 0.25;

export class IncrementalCompiler {
  #fragments = new Map<string, Fragment>();

  /** how many tenant entries are kept */
  get size(): number {
    return this.#fragments.size;
  }

  async compile(source: CompileSource, opts: CompileOptions): Promise<CompiledPayload> {
    const parts = await source.parts();
    const revisions = (await source.revisions()).sort((a, b) => compare(a.id, b.id));
    const slots = compileSlots(parts, opts);
    const plans = new Map(parts.plans.map((p) => [p.name, p]));
    const planValues = new Map(parts.plans.map((p) => [p.name, planFingerprint(p)]));
    const shardOf = (id: string, shardSize: number) =>
      opts.shardOf ? opts.shardOf({ id, shardSize }, slots) : [];
    const problems: string[] = [];

    const stale: string[] = [];
    for (const r of revisions) {
      const kept = this.#fragments.get(r.id);
      const fresh =
        kept !== undefined &&
        kept.rev === r.rev &&
        kept.plan === planValues.get(r.plan) &&
        sameShard(kept.shard, shardOf(r.id, kept.shardSize));
      if (!fresh) stale.push(r.id);
    }
    const revOf = new Map(revisions.map((r) => [r.id, r.rev]));
    const ctx = { plans, planValues, revOf, shardOf, problems };
    const encoded = await this.#encode(source, stale, revisions.length, ctx);

    const frame = snapshotFrame(parts, slots, opts);
    const check = new ConsistencyCheck(slots, frame.settings?.egressAllow ?? []);
    const next = new Map<string, Fragment>();
    const entries: Uint8Array[] = [];
    for (const r of revisions) {
      if (!plans.has(r.plan)) problems.push(missingPlan(r));
      const made = encoded.get(r.id);
      const fragment = made?.fragment ?? this.#fragments.get(r.id);
      if (!fragment) {
        problems.push(`tenant ${r.id} has a revision but no rows`);
        continue;
      }
      if (made) check.tenant(made.tenant);
      else check.reused(r.id, fragment.shard, fragment.keys, fragment.publicHosts);
      next.set(r.id, fragment);
      entries.push(fragment.entry);
    }
    problems.push(...check.problems);
    assertConsistent(problems);
    this.#fragments = next;
    opts.onSlots?.(slots);
    const payload = assemblePayload(frame, entries);
    return { payload, tenants: revisions.length, encoded: encoded.size };
  }

  /** Loads and encodes the stale tenants. */
  async #encode(
    source: CompileSource,
    stale: readonly string[],
    total: number,
    ctx: {
      plans: Map<string, PlanRow>;
      planValues: Map<string, string>;
      revOf: Map<string, string>;
      shardOf: (id: string, shardSize: number) => string[];
      problems: string[];
    },
  ) {
    const made = new Map<string, { fragment: Fragment; tenant: ReturnType<typeof compileTenant> }>();
    if (stale.length === 0) return made;
    const wanted = new Set(stale);
    const rows = await source.rows(stale.length > total * LOAD_ALL_RATIO ? undefined : stale);
    const children = groupChildren(rows, ctx.problems);
    for (const row of rows.tenants) {
      if (!wanted.has(row.id)) continue;
      let shardSize = 0;
      const tenant = compileTenant(row, ctx.plans.get(row.plan), children.get(row.id), (limits) => {
        shardSize = limits.shardSize;
        return ctx.shardOf(row.id, shardSize);
      });
      const fragment: Fragment = {
        rev: ctx.revOf.get(row.id) ?? "",
        plan: ctx.planValues.get(row.plan) ?? "",
        shardSize,
        shard: tenant.shard,
        keys: keyIdentities(tenant),
        publicHosts: publicHosts(tenant),
        entry: tenantEntry(tenant),
      };
      made.set(row.id, { fragment, tenant });
    }
    return made;
  }
}

function planFingerprint(p: PlanRow): string {
  return JSON.stringify([
    p.rate,
    p.burst,
    p.concurrency,
    p.priority,
    p.shard_size,
    p.quota_limit,
    p.quota_period,
    p.quota_offset_ms,
  ]);
}

function sameShard(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((m, i) => m === b[i]);
}
