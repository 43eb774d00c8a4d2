import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { gunzipSync } from "node:zlib";
import { Snapshot, type Tenant } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { ShardCache } from "../fleet/shard-cache.ts";
import type { ActiveKeyRow, FleetRows } from "../store/fleet-rows.ts";
import type { TenantRows } from "../store/tenant-revisions.ts";
import { type CompileOptions, compileSnapshot } from "./compile.ts";
import { type CompileSource, FULL_SCAN_EVERY, IncrementalCompiler } from "./incremental-compile.ts";
import { SegmentGzip } from "./segment-gzip.ts";
import { assemblePayload, tenantEntry } from "./snapshot-payload.ts";
import { NO_STREAMING_ROW, ROWS_T0, tenantRow } from "./test-rows.ts";

const T0 = ROWS_T0;
const NOW = T0.getTime() + 60_000;
const SEED = "incremental-seed";

/** Rows in memory with a revision per tenant bumped by every change of it (what migration 0009's triggers do). */
class MemoryFleet implements CompileSource {
  data: FleetRows = {
    plans: [
      { name: "free", rate: 10, burst: 20, concurrency: 5, priority: "batch", shard_size: 2 },
      { name: "pro", rate: 100, burst: 200, concurrency: 50, priority: "standard", shard_size: 3 },
    ],
    tenants: [],
    keys: [],
    routes: [],
    upstreams: [],
    nodes: [],
    dbNowMs: NOW,
  };
  revs = new Map<string, number>();
  #rev = 0;
  /** the change log (migration 0019): every bumped or deleted tenant, in order */
  log: string[] = [];
  /** answers changedSince (false: like a source without a change log) */
  tracks = true;
  bump(id: string): void {
    this.revs.set(id, ++this.#rev);
    this.log.push(id);
  }
  async position() {
    return String(this.log.length);
  }
  async changedSince(position: string) {
    return this.tracks ? this.log.slice(Number(position)) : undefined;
  }
  async parts() {
    const { tenants: _t, keys: _k, routes: _r, upstreams: _u, ...parts } = this.data;
    return parts;
  }
  async revisions(ids?: readonly string[]) {
    return this.data.tenants
      .filter((t) => ids === undefined || ids.includes(t.id))
      .map((t) => ({ id: t.id, plan: t.plan, rev: String(this.revs.get(t.id)) }));
  }
  async rows(ids?: readonly string[]): Promise<TenantRows> {
    const want = (id: string) => ids === undefined || ids.includes(id);
    return {
      tenants: this.data.tenants.filter((t) => want(t.id)),
      keys: this.data.keys.filter((k) => want(k.tenant_id)),
      routes: this.data.routes.filter((r) => want(r.tenant_id)),
      upstreams: this.data.upstreams.filter((u) => want(u.tenant_id)),
    };
  }
}

function nodeRow(slot: string) {
  return {
    slot,
    zone: `zone-${slot.length % 3}`,
    node_id: slot,
    http_url: `http://127.0.0.1:1/${slot}`,
    grpc_address: "",
    build: "",
    applied_version: 0,
    last_seen: new Date(NOW),
    last_error: null,
    status: null,
    connected_cp: "cp",
    connection_id: "c",
    first_seen: T0,
  };
}

/** A small deterministic PRNG (mulberry32): failures reproduce from the seed. */
function prng(seed: number): (n: number) => number {
  let a = seed;
  return (n) => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** One random change of the fleet, bumping the revision of every tenant it touches. */
function randomChange(f: MemoryFleet, rnd: (n: number) => number, step: number): void {
  const r = f.data;
  const some = <T>(xs: T[]) => xs[rnd(xs.length)];
  const t = some(r.tenants);
  switch (rnd(t ? 11 : 1)) {
    case 0: {
      const id = `t${rnd(1000)}-${step}`;
      r.tenants.push(tenantRow(id, { plan: rnd(2) ? "free" : "pro" }));
      f.bump(id);
      return;
    }
    case 1:
      r.tenants = r.tenants.filter((x) => x !== t);
      for (const kind of ["keys", "routes", "upstreams"] as const)
        (r[kind] as { tenant_id: string }[]) = r[kind].filter((x) => x.tenant_id !== t!.id);
      f.log.push(t!.id);
      return;
    case 2:
      t!.name = `renamed-${step}`;
      break;
    case 3:
      t!.plan = t!.plan === "free" ? "pro" : "free";
      break;
    case 4:
      t!.shard_size = 1 + rnd(4);
      break;
    case 5: {
      const hash = createHash("sha256").update(`k${step}`).digest();
      r.keys.push({ id: `k${step}`, tenant_id: t!.id, hash, scopes: ["invoke"], revoked_at: null });
      break;
    }
    case 6: {
      const key = r.keys.find((k) => k.tenant_id === t!.id && k.revoked_at === null);
      if (key) key.revoked_at = T0;
      break;
    }
    case 7: {
      const up = { id: `u${step}`, tenant_id: t!.id, name: `u${step}`, targets: ["http://a.test"] };
      r.upstreams.push({
        ...up,
        connect_timeout_ms: 500,
        retry_budget_percent: 10,
        retry_budget_min_per_second: 3,
        retry_budget_window_ms: 10_000,
        weights: null,
        health_check: null,
        outlier: null,
        created_at: T0,
      });
      r.routes.push({
        id: `r${step}`,
        tenant_id: t!.id,
        path_prefix: `/p${step}`,
        hosts: [],
        methods: [],
        upstream_id: up.id,
        timeout_ms: 1000,
        protocol: "http",
        strip_prefix: false,
        ...NO_STREAMING_ROW,
        rate: rnd(2) ? 5 : null,
        burst: 10,
        retry_attempts: 0,
        retry_statuses: [],
        public: false,
        idempotency: false,
        client_rate: null,
        client_burst: null,
        created_at: T0,
      });
      break;
    }
    case 8: {
      // a plan's values change: no tenant revision moves
      const plan = some(r.plans)!;
      plan.rate += 1;
      plan.shard_size = 1 + rnd(4);
      return;
    }
    case 9:
      r.nodes = rnd(2) && r.nodes.length > 0 ? r.nodes.slice(1) : [...r.nodes, nodeRow(`dp-${step}`)];
      return;
    default:
      r.admission = undefined;
      r.egressAllow = rnd(2) ? ["10.0.0.1:80"] : [];
      return;
  }
  f.bump(t!.id);
}

function options(step: number, cache: ShardCache): CompileOptions {
  return { version: step + 1, epoch: 3, createdAtMs: NOW + step, nowMs: NOW, shardOf: cache.generation() };
}

const fullPayload = (f: MemoryFleet, step: number) =>
  Buffer.from(
    Snapshot.encode(compileSnapshot(structuredClone(f.data), options(step, new ShardCache(SEED)))).finish(),
  );

const fresh = (t: Tenant) => ({ entry: tenantEntry(t), at: 0, len: 0 });

test("a snapshot payload assembled from tenant entries is Snapshot.encode of the whole message", () => {
  const f = new MemoryFleet();
  for (let i = 0; i < 5; i++) randomChange(f, prng(i), i);
  const full = compileSnapshot(f.data, options(0, new ShardCache(SEED)));
  const pieces = assemblePayload({ ...full, tenants: [] }, full.tenants.map(fresh));
  assert.deepEqual(pieces, Buffer.from(Snapshot.encode(full).finish()));
  const empty = { ...full, tenants: [], slots: [], settings: undefined, version: 0 };
  assert.deepEqual(assemblePayload(empty, []), Buffer.from(Snapshot.encode(empty).finish()));
});

test("kept entries are copied from the last payload in runs, whatever lies between them", () => {
  const f = new MemoryFleet();
  for (let i = 0; i < 8; i++) randomChange(f, prng(i), i);
  const full = compileSnapshot(f.data, options(0, new ShardCache(SEED)));
  const frame = { ...full, tenants: [] };
  const placed = full.tenants.map(fresh);
  const first = assemblePayload(frame, placed);
  assert.deepEqual(first, Buffer.from(Snapshot.encode(full).finish()));
  placed.forEach((e, i) => {
    assert.equal(e.entry, undefined, "the payload holds the bytes now");
    assert.deepEqual(first.subarray(e.at, e.at + e.len), Buffer.from(tenantEntry(full.tenants[i]!)));
  });
  // the second version: one tenant re-encoded in the middle, one dropped, the frame changed
  const changed = { ...full.tenants[1]!, status: "suspended" };
  const tenants = [full.tenants[0]!, changed, ...full.tenants.slice(3)];
  const entries = [placed[0]!, fresh(changed), ...placed.slice(3)];
  const next = { ...full, version: full.version + 1, slots: full.slots.slice(1), tenants };
  const second = assemblePayload({ ...next, tenants: [] }, entries, first);
  assert.deepEqual(second, Buffer.from(Snapshot.encode(next).finish()));
  entries.forEach((e, i) => {
    assert.deepEqual(second.subarray(e.at, e.at + e.len), Buffer.from(tenantEntry(tenants[i]!)));
  });
});

test("after random changes the incremental payload is byte-identical to a full compile", async () => {
  // with the change log (changed tenants only, a full scan when asked or due) and without it
  for (const [seed, tracks] of [
    [1, true],
    [2, true],
    [3, true],
    [4, false],
  ] as const) {
    const rnd = prng(seed);
    const f = new MemoryFleet();
    f.tracks = tracks;
    const compiler = new IncrementalCompiler();
    const cache = new ShardCache(SEED);
    const gzip = new SegmentGzip();
    let scans = 0;
    for (let step = 0; step < 300; step++) {
      randomChange(f, rnd, step);
      if (rnd(4) === 0) continue; // changes that wait for the next compile
      const run = { full: rnd(20) === 0 };
      const { payload, tenants, scanned, segments } = await compiler.compile(f, options(step, cache), run);
      if (scanned < tenants) scans++;
      assert.equal(tenants, f.data.tenants.length);
      assert.ok(payload.equals(fullPayload(f, step)), `seed ${seed} step ${step}: payloads differ`);
      const gzipped = await gzip.gzip(payload, segments);
      assert.ok(gunzipSync(gzipped).equals(payload), `seed ${seed} step ${step}: segment gzip differs`);
    }
    if (tracks) assert.ok(scans > 100, `${scans} compiles read only the changed tenants`);
    else assert.equal(scans, 0);
  }
});

test("a change the log lost is found by the next full scan: asked for, due, or when the log cannot tell", async () => {
  const f = new MemoryFleet();
  f.data.nodes = ["dp-a", "dp-b"].map(nodeRow);
  for (const id of ["a", "b", "c"]) {
    f.data.tenants.push(tenantRow(id, { plan: "free" }));
    f.bump(id);
  }
  const compiler = new IncrementalCompiler();
  const cache = new ShardCache(SEED);
  let step = 0;
  const compile = (run = {}) => compiler.compile(f, options(step++, cache), run);
  const lose = (id: string, change: () => void) => {
    change();
    f.bump(id);
    f.log.pop(); // e.g. written with the triggers off: the log never names it
  };
  assert.equal((await compile()).scanned, 3, "the first compile scans every tenant");
  lose("b", () => {
    f.data.tenants[1]!.name = "renamed";
  });
  const missed = await compile();
  assert.deepEqual([missed.scanned, missed.encoded], [0, 0], "the log named nothing");
  assert.ok(!missed.payload.equals(fullPayload(f, step - 1)), "so the change is not in it yet");
  const found = await compile({ full: true });
  assert.deepEqual([found.scanned, found.encoded], [3, 1]);
  assert.ok(found.payload.equals(fullPayload(f, step - 1)));

  // without being asked: within FULL_SCAN_EVERY compiles
  lose("c", () => {
    f.data.tenants[2]!.status = "suspended";
  });
  let compiles = 0;
  for (; compiles < FULL_SCAN_EVERY; compiles++) {
    const { payload, scanned } = await compile();
    if (scanned === 3) {
      assert.ok(payload.equals(fullPayload(f, step - 1)));
      break;
    }
  }
  assert.ok(compiles < FULL_SCAN_EVERY, "a periodic full scan came");

  // a log that no longer reaches back to the last compile (pruned past it): a full scan
  lose("a", () => {
    f.data.tenants[0]!.name = "again";
  });
  f.tracks = false;
  const pruned = await compile();
  assert.deepEqual([pruned.scanned, pruned.encoded], [3, 1]);
  assert.ok(pruned.payload.equals(fullPayload(f, step - 1)));
});

test("one tenant's change encodes that tenant alone; a plan change its tenants; a new slot set every moved shard", async () => {
  const f = new MemoryFleet();
  f.data.nodes = ["dp-a", "dp-b", "dp-c", "dp-d"].map(nodeRow);
  for (let i = 0; i < 40; i++) {
    f.data.tenants.push(tenantRow(`t${String(i).padStart(2, "0")}`, { plan: i < 10 ? "pro" : "free" }));
    f.bump(`t${String(i).padStart(2, "0")}`);
  }
  const compiler = new IncrementalCompiler();
  const cache = new ShardCache(SEED);
  assert.equal((await compiler.compile(f, options(0, cache))).encoded, 40);
  assert.equal((await compiler.compile(f, options(1, cache))).encoded, 0);
  f.data.tenants[7]!.name = "changed";
  f.bump("t07");
  assert.equal((await compiler.compile(f, options(2, cache))).encoded, 1);
  f.data.plans[1]!.burst = 999;
  assert.equal((await compiler.compile(f, options(3, cache))).encoded, 10, "the pro plan's tenants");
  f.data.nodes.push(nodeRow("dp-e"));
  const moved = (await compiler.compile(f, options(4, cache))).encoded;
  assert.ok(moved > 0 && moved <= 40, `${moved} shards moved`);
  assert.equal(compiler.size, 40);
});

test("an inconsistent compile throws and keeps nothing; the next one is whole again", async () => {
  const f = new MemoryFleet();
  f.data.tenants.push(tenantRow("acme", { plan: "free" }));
  f.bump("acme");
  const compiler = new IncrementalCompiler();
  const cache = new ShardCache(SEED);
  await compiler.compile(f, options(0, cache));
  const route = {
    id: "r1",
    tenant_id: "acme",
    path_prefix: "/",
    hosts: [],
    methods: [],
    upstream_id: "gone",
  };
  f.data.routes.push({
    ...route,
    timeout_ms: 1,
    protocol: "http",
    strip_prefix: false,
    ...NO_STREAMING_ROW,
    rate: null,
    burst: null,
    retry_attempts: 0,
    retry_statuses: [],
    public: false,
    idempotency: false,
    client_rate: null,
    client_burst: null,
    created_at: T0,
  });
  f.bump("acme");
  await assert.rejects(compiler.compile(f, options(1, cache)), { code: "CORRAL_SNAPSHOT_INCONSISTENT" });
  f.data.routes = [];
  f.bump("acme");
  const { payload } = await compiler.compile(f, options(2, cache));
  assert.ok(payload.equals(fullPayload(f, 2)));
});

test("over an unchanged slot set, a changed tenant's clash with a kept one is still refused", async () => {
  const f = new MemoryFleet();
  f.data.nodes = [nodeRow("dp-a"), nodeRow("dp-b")];
  for (const id of ["acme", "beta", "gamma"]) {
    f.data.tenants.push(tenantRow(id, { plan: "free" }));
    f.bump(id);
  }
  const key = (id: string, tenant: string, seed: string): ActiveKeyRow => ({
    id,
    tenant_id: tenant,
    hash: createHash("sha256").update(seed).digest(),
    scopes: ["invoke"],
    revoked_at: null,
  });
  f.data.keys.push(key("k-acme", "acme", "acme"));
  const compiler = new IncrementalCompiler();
  const cache = new ShardCache(SEED);
  await compiler.compile(f, options(0, cache));
  // beta (changed) takes acme's (kept) key id, then its hash
  f.data.keys.push(key("k-acme", "beta", "other"));
  f.bump("beta");
  await assert.rejects(compiler.compile(f, options(1, cache)), /key k-acme appears twice/);
  f.data.keys[1] = key("k-beta", "beta", "acme");
  f.bump("beta");
  await assert.rejects(compiler.compile(f, options(2, cache)), /duplicate hash/);
  f.data.keys[1] = key("k-beta", "beta", "beta");
  f.bump("beta");
  let { encoded } = await compiler.compile(f, options(3, cache));
  assert.equal(encoded, 1, "only beta is encoded again; every kept tenant is checked again");
  // acme is deleted: gamma may take its key id in the same version
  f.data.tenants = f.data.tenants.filter((t) => t.id !== "acme");
  f.data.keys = f.data.keys.filter((k) => k.tenant_id !== "acme");
  f.log.push("acme"); // a delete is in the change log too
  f.data.keys.push(key("k-acme", "gamma", "gamma"));
  f.bump("gamma");
  ({ encoded } = await compiler.compile(f, options(4, cache)));
  assert.equal(encoded, 1);
  // and now beta may not take gamma's
  f.data.keys.push(key("k-acme", "beta", "beta-2"));
  f.bump("beta");
  await assert.rejects(compiler.compile(f, options(5, cache)), /key k-acme appears twice/);
});
