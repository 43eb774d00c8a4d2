/**
 * Compiles the whole-fleet snapshot payload without recompiling the world (issue 14 item 5).
 * Every version still carries the whole state; what is kept between versions is each tenant's
 * encoded entry (as its place in the last payload, snapshot-payload.ts), with what it was built
 * from: the tenant's config revision (store/tenant-revisions.ts: bumped by any change of its
 * row, keys, routes or upstreams), its plan's values and its shard.
 *
 * Which revisions a compile reads: those of the tenants the change log names since the last
 * compile (store/tenant-changes.ts) and of every tenant of a plan whose values changed; every
 * tenant's on a full scan: when asked (startup, takeover), every FULL_SCAN_EVERY compiles, when
 * the log cannot answer, and when the slots' names or zones changed (then every kept shard is
 * asked of the placement hook again). It loads and encodes only the tenants whose revision,
 * plan or shard differs; the rest are copied from the last payload in runs. The result is
 * byte-identical to Snapshot.encode(compileSnapshot(all rows)) (incremental-compile.test.ts) and
 * it is checked the same way (consistency.ts); on any problem nothing is kept.
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
import { FleetIndex, slotsKey } from "./fleet-index.ts";
import { assemblePayload, tenantEntry } from "./snapshot-payload.ts";
import { cutsAfter, type PayloadSegment, payloadSegments } from "./segment-gzip.ts";
import { TurnBudget } from "./turn-budget.ts";
import type { Slot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";

/** Where a compile reads from: in the publisher, one repeatable-read transaction. */
export interface CompileSource {
  parts(): Promise<FleetParts>;
  /** every tenant's revision, or those of these tenants (ids of no tenant left out) */
  revisions(ids?: readonly string[]): Promise<TenantRevision[]>;
  /** the rows of these tenants; all tenants' when undefined */
  rows(ids?: readonly string[]): Promise<TenantRows>;
  /** where this source reads (store/tenant-changes.ts); without it every compile scans every revision */
  position?(): Promise<string>;
  /** the tenants changed after an earlier position; undefined when that is no longer known */
  changedSince?(position: string): Promise<readonly string[] | undefined>;
}

export interface CompileRun {
  /** scan every tenant's revision even when the change log could tell what changed */
  full?: boolean;
}

export interface CompiledPayload {
  /**
   * The encoded Snapshot; its memory is written over by the second compile after this one (the
   * publisher is done with it by then: publishes never overlap)
   */
  payload: Buffer;
  tenants: number;
  /** tenants encoded by this compile (the others were reused) */
  encoded: number;
  /** tenants whose revision this compile read: every tenant on a full scan, else the changed ones */
  scanned: number;
  /** the payload in segments (segment-gzip.ts): a kept run of tenants keeps its compressed bytes */
  segments: PayloadSegment[];
}

interface Fragment {
  id: string;
  rev: string;
  planName: string;
  /** the plan's values the entry was built with */
  plan: string;
  shardSize: number;
  shard: readonly string[];
  keys: readonly KeyIdentity[];
  /** its public routes' hosts (each public for one tenant only) */
  publicHosts: readonly string[];
  /** its encoded entry until a payload holds it; then where it lies in the last payload */
  entry?: Uint8Array | undefined;
  at: number;
  len: number;
  /** a compressed segment may end after it (segment-gzip.ts) */
  cut: boolean;
}

/** Past this share of tenants to encode, one scan of every row is cheaper than a list of ids. */
const LOAD_ALL_RATIO = 0.25;
/** A full revision scan at least this often, whatever the change log says (the safety net). */
export const FULL_SCAN_EVERY = 64;

type Encoded = Map<string, { fragment: Fragment; tenant: ReturnType<typeof compileTenant> }>;

export class IncrementalCompiler {
  #fragments = new Map<string, Fragment>();
  /** #fragments in snapshot order (the last payload's) */
  #order: Fragment[] = [];
  /** the last payload: kept fragments' entries are copied from it */
  #payload: Buffer | undefined;
  /** the memory of the payload before it, written over by the next compile */
  #spare: ArrayBuffer | undefined;
  /** key and host owners of #fragments, while they passed their checks (fleet-index.ts) */
  #index: FleetIndex | undefined;
  /** where the last compile that passed read, and what it compiled against */
  #position: string | undefined;
  #membership: string | undefined;
  #planValues = new Map<string, string>();
  #sinceFullScan = 0;

  /** how many tenant entries are kept */
  get size(): number {
    return this.#fragments.size;
  }

  /** where the last compile that passed read (pruning the change log up to it is safe) */
  get position(): string | undefined {
    return this.#position;
  }

  async compile(source: CompileSource, opts: CompileOptions, run: CompileRun = {}): Promise<CompiledPayload> {
    const parts = await source.parts();
    const slots = compileSlots(parts, opts);
    const membership = membershipKey(slots);
    // a shard depends only on the tenant, its shard size and the slots' names and zones
    const sameMembership = membership === this.#membership;
    const plans = new Map(parts.plans.map((p) => [p.name, p]));
    const planValues = new Map(parts.plans.map((p) => [p.name, planFingerprint(p)]));
    const shardOf = (id: string, shardSize: number) =>
      opts.shardOf ? opts.shardOf({ id, shardSize }, slots) : [];
    const problems: string[] = [];
    // a compile after a slot-set change is long: the event loop gets its turn every ~20 ms
    const turns = new TurnBudget();
    const position = await source.position?.();
    const touched = await this.#touched(source, run, sameMembership, planValues);
    const revisions = (await source.revisions(touched && [...touched])).sort((a, b) => compare(a.id, b.id));

    const stale: string[] = [];
    for (const r of revisions) {
      if (turns.due()) await turns.yield();
      const kept = this.#fragments.get(r.id);
      const fresh =
        kept !== undefined &&
        kept.rev === r.rev &&
        kept.plan === planValues.get(r.plan) &&
        (sameMembership || sameShard(kept.shard, shardOf(r.id, kept.shardSize)));
      if (!fresh) stale.push(r.id);
    }
    const revOf = new Map(revisions.map((r) => [r.id, r.rev]));
    const ctx = { plans, planValues, revOf, shardOf, problems, turns };
    const total = touched ? this.#fragments.size : revisions.length;
    const encoded = await this.#encode(source, stale, total, ctx);

    const frame = snapshotFrame(parts, slots, opts);
    const check = new ConsistencyCheck(slots, frame.settings?.egressAllow ?? []);
    // over the same slots, kept tenants passed their checks: only the re-encoded ones are checked
    const key = slotsKey(slots);
    const index = this.#index?.slotsKey === key ? this.#index : undefined;
    const read: Fragment[] = [];
    for (const r of revisions) {
      if (turns.due()) await turns.yield();
      if (!plans.has(r.plan)) problems.push(missingPlan(r));
      const made = encoded.get(r.id);
      const fragment = made?.fragment ?? this.#fragments.get(r.id);
      if (!fragment) {
        problems.push(`tenant ${r.id} has a revision but no rows`);
        continue;
      }
      if (made) check.tenant(made.tenant);
      else if (!index) check.reused(r.id, fragment.shard, fragment.keys, fragment.publicHosts);
      read.push(fragment);
    }
    const order = touched ? nextOrder(this.#order, touched, read) : read;
    if (touched && !index) {
      // kept tenants the change log did not name: checked one by one (no index to trust)
      for (const f of order) if (!touched.has(f.id)) check.reused(f.id, f.shard, f.keys, f.publicHosts);
    }
    problems.push(...check.problems);
    const changed = new Map([...encoded].map(([id, m]) => [id, m.fragment]));
    const present = new Set(read.map((f) => f.id));
    const removed = new Set<string>();
    if (touched) for (const id of touched) if (this.#fragments.has(id) && !present.has(id)) removed.add(id);
    if (index) {
      if (!touched) for (const id of this.#fragments.keys()) if (!present.has(id)) removed.add(id);
      problems.push(...index.clashes(changed, removed));
    }
    this.#index = undefined;
    this.#position = undefined;
    assertConsistent(problems);
    if (index) index.update(this.#fragments, changed, removed);
    this.#fragments = touched ? this.#fragments : new Map();
    for (const id of removed) this.#fragments.delete(id);
    for (const f of read) this.#fragments.set(f.id, f);
    this.#index = index ?? new FleetIndex(key, this.#fragments);
    this.#order = order;
    this.#position = position;
    this.#membership = membership;
    this.#planValues = planValues;
    this.#sinceFullScan = touched ? this.#sinceFullScan + 1 : 0;
    opts.onSlots?.(slots);
    let payload: Buffer;
    try {
      payload = assemblePayload(frame, order, this.#payload, this.#spare);
    } catch (err) {
      this.#forget();
      throw err;
    }
    this.#spare = this.#payload?.buffer as ArrayBuffer | undefined;
    this.#payload = payload;
    const segments = payloadSegments(payload, order);
    return { payload, tenants: order.length, encoded: encoded.size, scanned: revisions.length, segments };
  }

  /** Keeps nothing: the next compile encodes every tenant. */
  #forget(): void {
    this.#fragments = new Map();
    this.#order = [];
    this.#payload = undefined;
    this.#spare = undefined;
    this.#index = undefined;
    this.#position = undefined;
  }

  /**
   * The tenants whose revision this compile reads: those the change log names since the last
   * compile and those of every plan whose values changed; undefined for a scan of every
   * tenant (asked for, none yet, the log cannot tell, the slot membership changed, or due).
   */
  async #touched(
    source: CompileSource,
    run: CompileRun,
    sameMembership: boolean,
    planValues: ReadonlyMap<string, string>,
  ): Promise<Set<string> | undefined> {
    const since = this.#position;
    if (run.full || since === undefined || !sameMembership || !source.changedSince) return undefined;
    if (this.#sinceFullScan + 1 >= FULL_SCAN_EVERY) return undefined;
    const changed = await source.changedSince(since);
    if (changed === undefined) return undefined;
    const touched = new Set(changed);
    const plansChanged = new Set<string>();
    for (const [name, v] of this.#planValues) if (planValues.get(name) !== v) plansChanged.add(name);
    for (const [name, v] of planValues) if (this.#planValues.get(name) !== v) plansChanged.add(name);
    if (plansChanged.size > 0)
      for (const f of this.#order) if (plansChanged.has(f.planName)) touched.add(f.id);
    return touched;
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
      turns: TurnBudget;
    },
  ): Promise<Encoded> {
    const made: Encoded = new Map();
    if (stale.length === 0) return made;
    const wanted = new Set(stale);
    const rows = await source.rows(stale.length > total * LOAD_ALL_RATIO ? undefined : stale);
    const children = groupChildren(rows, ctx.problems);
    for (const row of rows.tenants) {
      if (!wanted.has(row.id)) continue;
      if (ctx.turns.due()) await ctx.turns.yield();
      let shardSize = 0;
      const tenant = compileTenant(row, ctx.plans.get(row.plan), children.get(row.id), (limits) => {
        shardSize = limits.shardSize;
        return ctx.shardOf(row.id, shardSize);
      });
      const fragment: Fragment = {
        id: row.id,
        rev: ctx.revOf.get(row.id) ?? "",
        planName: row.plan,
        plan: ctx.planValues.get(row.plan) ?? "",
        shardSize,
        shard: tenant.shard,
        keys: keyIdentities(tenant),
        publicHosts: publicHosts(tenant),
        entry: tenantEntry(tenant),
        at: 0,
        len: 0,
        cut: cutsAfter(row.id),
      };
      made.set(row.id, { fragment, tenant });
    }
    return made;
  }
}

/** Up to this many touched tenants are put in place one by one (binary search), past it merged. */
const PATCH_LIMIT = 256;

/**
 * The next snapshot order: the kept fragments (`before` without the `touched` ids) with the
 * touched tenants' fragments as read now (`read`, sorted; a touched id not among them was
 * deleted).
 */
function nextOrder(before: readonly Fragment[], touched: ReadonlySet<string>, read: readonly Fragment[]) {
  if (touched.size > PATCH_LIMIT) return merge(before, touched, read);
  const out = before.slice();
  const now = new Map(read.map((f) => [f.id, f]));
  for (const id of touched) {
    let lo = 0;
    let hi = out.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (out[mid]!.id < id) lo = mid + 1;
      else hi = mid;
    }
    const present = lo < out.length && out[lo]!.id === id;
    const fragment = now.get(id);
    if (fragment) out.splice(lo, present ? 1 : 0, fragment);
    else if (present) out.splice(lo, 1);
  }
  return out;
}

/**
 * The same as nextOrder, in one pass: the kept fragments (`before` without the `touched` ids) merged with
 * the touched tenants' fragments as read now (`read`, sorted; a touched id not among them was
 * deleted).
 */
function merge(
  before: readonly Fragment[],
  touched: ReadonlySet<string>,
  read: readonly Fragment[],
): Fragment[] {
  const out: Fragment[] = [];
  let j = 0;
  for (const f of before) {
    if (touched.has(f.id)) continue;
    while (j < read.length && read[j]!.id < f.id) out.push(read[j++]!);
    out.push(f);
  }
  while (j < read.length) out.push(read[j++]!);
  return out;
}

/** What a shard depends on besides the tenant: the slots' names and zones. */
function membershipKey(slots: readonly Slot[]): string {
  return JSON.stringify(slots.map((s) => [s.name, s.zone]));
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
