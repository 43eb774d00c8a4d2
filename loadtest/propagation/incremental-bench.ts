/**
 * The incremental compile and the segment gzip in process (no Postgres, no sockets), over
 * synthetic rows shaped like the scenario's (compile-size.ts: one key, route and upstream per
 * tenant, 1,000 declared slots): a first compile (every tenant), then versions that each change
 * one tenant (named by an in-memory change log, as migration 0019's would), one of them after
 * one more slot is declared (kept shards updated from the difference: fleet/shard-cache.ts).
 *
 *   npx node --trace-gc loadtest/propagation/incremental-bench.ts 100000 12
 */
import { ShardCache } from "../../control-plane/fleet/shard-cache.ts";
import { type CompileSource, IncrementalCompiler } from "../../control-plane/publish/incremental-compile.ts";
import { SegmentGzip } from "../../control-plane/publish/segment-gzip.ts";
import type { TenantRows } from "../../control-plane/store/tenant-revisions.ts";
import { syntheticRows } from "./compile-size.ts";

const tenants = Number(process.argv[2] ?? 100_000);
const versions = Number(process.argv[3] ?? 12);
const nowMs = Date.now();
const rows = syntheticRows(tenants, 1000, nowMs);
const log: string[] = [];
const only = <T>(ids: readonly string[] | undefined, xs: T[], id: (x: T) => string) => {
  const wanted = ids && new Set(ids);
  return wanted ? xs.filter((x) => wanted.has(id(x))) : xs;
};
const source: CompileSource = {
  parts: async () => {
    const { tenants: _t, keys: _k, routes: _r, upstreams: _u, ...parts } = rows;
    return parts;
  },
  revisions: async (ids) =>
    only(ids, rows.tenants, (t) => t.id).map((t) => ({ id: t.id, plan: t.plan, rev: t.name })),
  rows: async (ids): Promise<TenantRows> => ({
    tenants: only(ids, rows.tenants, (t) => t.id),
    keys: only(ids, rows.keys, (k) => k.tenant_id),
    routes: only(ids, rows.routes, (r) => r.tenant_id),
    upstreams: only(ids, rows.upstreams, (u) => u.tenant_id),
  }),
  position: async () => String(log.length),
  changedSince: async (position) => log.slice(Number(position)),
};
const shards = new ShardCache("incremental-bench");
const compiler = new IncrementalCompiler();
const gzip = new SegmentGzip();
const slotAddedAt = Math.ceil(versions / 2);
for (let v = 1; v <= versions; v++) {
  if (v === slotAddedAt)
    rows.declaredSlots!.push({ ...rows.declaredSlots![0]!, name: "sim-extra", zone: "zone-b" });
  if (v > 1) {
    const t = rows.tenants[(v * 7919) % tenants]!;
    t.name = `changed ${v}`;
    log.push(t.id);
  }
  const opts = { version: v, epoch: 1, createdAtMs: nowMs + v, nowMs, shardOf: shards.generation() };
  const started = performance.now();
  const r = await compiler.compile(source, opts);
  const compiled = performance.now();
  const gz = await gzip.gzip(r.payload, r.segments);
  const done = performance.now();
  const what = v === 1 ? "first" : v === slotAddedAt ? "slot added" : "one tenant";
  console.log(
    `v${v} (${what}): compile ${(compiled - started).toFixed(1)} ms (encoded ${r.encoded}, revisions read ${r.scanned}); ` +
      `gzip ${(done - compiled).toFixed(1)} ms (${gzip.deflated} of ${r.segments.length} segments deflated); ` +
      `payload ${r.payload.length} B, gzip ${gz.length} B`,
  );
}
