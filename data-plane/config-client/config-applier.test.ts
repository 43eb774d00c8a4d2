import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { LATEST_KEY, snapshotKey } from "../../proto/blob-keys.ts";
import { FsBlobStore } from "../../runtime/blob-store/fs-blob-store.ts";
import { HEADER_SIZE } from "../../proto/snapshot-codec.ts";
import * as fx from "../../test/data-plane/fixtures.ts";
import { ManualTimers } from "../clock.ts";
import type { LiveConfig } from "../router/live-config.ts";
import { type ApplyOutcome, ConfigApplier } from "./config-applier.ts";
import { CACHE_FILE, ConfigSources } from "./config-sources.ts";
import { SnapshotJob } from "./snapshot-job.ts";
import { InlineSnapshotLoader } from "./snapshot-loader.ts";
import type { ApplyTrigger } from "./version-policy.ts";

const pair = fx.signingPair();
const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** Monotonic time that moves 21 ms on every read: apply_ms is then exact. */
class SteppingTimers extends ManualTimers {
  private t = 0;
  override monotonic(): number {
    this.t += 21;
    return this.t;
  }
}

function v(version: number, tenantId = "acme"): fx.Published {
  const key = fx.newKey();
  return fx.sign(
    fx.snapshot(version, [
      fx.tenant({ id: tenantId, upstream: "http://127.0.0.1:9", keys: [{ id: key.id, hash: key.hash }] }),
    ]),
    pair,
  );
}

async function setup(opts: { dataDir?: string; capacity?: number; publicKey?: typeof pair.publicKey } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "corral-applier-"));
  dirs.push(dir);
  const store = new FsBlobStore(join(dir, "blobs"));
  const dataDir = opts.dataDir ?? join(dir, "data");
  const outcomes: ApplyOutcome[] = [];
  const fetched: string[] = [];
  let live: LiveConfig | undefined;
  const sources = new ConfigSources(store, dataDir, opts.capacity ?? fx.CAPACITY);
  const recorded = {
    fetch: (t: ApplyTrigger) => {
      fetched.push(t.kind === "pull" ? "pull" : `${t.kind}:${t.version ?? ""}`);
      return sources.fetch(t);
    },
    persist: (blob: Uint8Array) => sources.persist(blob),
  };
  const applier = new ConfigApplier({
    loader: new InlineSnapshotLoader(new SnapshotJob(recorded, opts.publicKey ?? pair.publicKey)),
    maxCapacity: opts.capacity ?? fx.CAPACITY,
    timers: new SteppingTimers(),
    live: { current: () => live, install: (c) => (live = c) },
    onOutcome: (o) => outcomes.push(o),
  });
  const apply = async (t: ApplyTrigger) => {
    applier.request(t);
    await applier.idle();
    return outcomes.at(-1)!;
  };
  return { dir, store, dataDir, outcomes, fetched, applier, apply, served: () => live?.version };
}

const announce = (p: fx.Published): ApplyTrigger => ({
  kind: "announce",
  version: p.version,
  key: p.key,
  sha256: p.sha256,
});

function failed(o: ApplyOutcome, code: string): void {
  assert.equal(o.ok, false, `expected ${code}, got success`);
  if (!o.ok) assert.equal(o.error.code, code, o.error.message);
}

test("a pull applies LATEST, persists it, and reports the apply time", async () => {
  const s = await setup();
  const p2 = await fx.publish(s.store, v(2));
  const o = await s.apply({ kind: "pull" });
  assert.deepEqual(o, {
    ok: true,
    trigger: { kind: "pull" },
    version: 2,
    changed: true,
    applyMs: 21,
    cacheError: undefined,
  });
  assert.equal(s.served(), 2);
  assert.deepEqual(await readFile(join(s.dataDir, CACHE_FILE)), p2.blob);
});

test("the same version again is re-verified and changes nothing", async () => {
  const s = await setup();
  await fx.publish(s.store, v(2));
  await s.apply({ kind: "pull" });
  await rm(join(s.dataDir, CACHE_FILE));
  const o = await s.apply({ kind: "pull" });
  assert.ok(o.ok && !o.changed && o.version === 2);
  await assert.rejects(
    readFile(join(s.dataDir, CACHE_FILE)),
    /ENOENT/,
    "no second write for a persisted version",
  );
});

test("a lower version is refused and the served one stays", async () => {
  const s = await setup();
  const p3 = await fx.publish(s.store, v(3));
  await s.apply(announce(p3));
  await fx.publish(s.store, v(2));
  const o = await s.apply({ kind: "pull" });
  failed(o, "CORRAL_DP_CONFIG_VERSION_REGRESSION");
  assert.equal(o.version, 2);
  assert.equal(s.served(), 3);
  assert.deepEqual(
    await readFile(join(s.dataDir, CACHE_FILE)),
    p3.blob,
    "the cache keeps the served version",
  );
});

test("the same version with other content is a conflict, never applied", async () => {
  const s = await setup();
  await fx.publish(s.store, v(3, "acme"));
  await s.apply({ kind: "pull" });
  await fx.publish(s.store, v(3, "other"));
  failed(await s.apply({ kind: "pull" }), "CORRAL_DP_CONFIG_VERSION_CONFLICT");
  assert.ok(s.applier && s.served() === 3);
});

test("bad blobs are refused before anything is served", async () => {
  const s = await setup();
  const good = await fx.publish(s.store, v(1));
  await s.apply({ kind: "pull" });
  const corrupt = v(2);
  corrupt.blob[HEADER_SIZE + 10] = (corrupt.blob[HEADER_SIZE + 10] ?? 0) ^ 0xff;
  const foreign = fx.sign(fx.snapshot(3, []), fx.signingPair());
  const truncated = v(4);
  truncated.blob = truncated.blob.subarray(0, 1000);
  const cases: [fx.Published, string][] = [
    [corrupt, "CORRAL_SNAPSHOT_DIGEST_MISMATCH"],
    [foreign, "CORRAL_SNAPSHOT_BAD_SIGNATURE"],
    [truncated, "CORRAL_SNAPSHOT_SIZE_MISMATCH"],
  ];
  for (const [pub, code] of cases) {
    await s.store.put(pub.key, pub.blob);
    failed(await s.apply(announce(pub)), code);
    assert.equal(s.served(), good.version);
  }
  failed(await s.apply({ ...announce(good), sha256: "0".repeat(64) }), "CORRAL_DP_CONFIG_SHA_MISMATCH");
  failed(await s.apply({ ...announce(good), key: snapshotKey(99) }), "CORRAL_DP_CONFIG_BAD_ANNOUNCE");
  await s.store.put(LATEST_KEY, Buffer.from("{not json"));
  failed(await s.apply({ kind: "pull" }), "CORRAL_DP_CONFIG_POINTER");
  assert.equal(s.served(), good.version);
});

test("a blob larger than the capacity is not even read whole", async () => {
  const s = await setup({ capacity: fx.CAPACITY / 2 });
  await fx.publish(s.store, v(1));
  failed(await s.apply({ kind: "pull" }), "CORRAL_SNAPSHOT_OVERSIZED");
  assert.equal(s.served(), undefined);
});

test("an unreachable source is a fetch failure", async () => {
  const s = await setup();
  const o = await s.apply({ kind: "pull" });
  failed(o, "CORRAL_DP_CONFIG_FETCH");
  assert.ok(!o.ok && o.fetchFailed);
  const boot = await s.apply({ kind: "boot" });
  failed(boot, "CORRAL_DP_CONFIG_NO_CACHE");
});

test("triggers arriving during an apply coalesce into the newest", async () => {
  const s = await setup();
  const [p2, p3, p4] = [v(2), v(3), v(4)];
  for (const p of [p2, p3, p4]) await s.store.put(p.key, p.blob);
  s.applier.request(announce(p2));
  s.applier.request(announce(p3));
  s.applier.request({ kind: "pull" });
  s.applier.request(announce(p4));
  s.applier.request(announce(p3));
  await s.applier.idle();
  assert.deepEqual(s.fetched, ["announce:2", "announce:4"]);
  assert.deepEqual(
    s.outcomes.map((o) => [o.ok, o.version]),
    [
      [true, 2],
      [true, 4],
    ],
  );
});

test("boot serves the disk cache without writing it again; a corrupt cache is refused", async () => {
  const s = await setup();
  const p5 = await fx.publish(s.store, v(5));
  await s.apply({ kind: "pull" });
  const restarted = await setup({ dataDir: s.dataDir });
  const o = await restarted.apply({ kind: "boot" });
  assert.ok(o.ok && o.changed && o.version === 5);
  assert.deepEqual(restarted.fetched, ["boot:"]);
  const bytes = Buffer.from(p5.blob);
  bytes[HEADER_SIZE + 10] = (bytes[HEADER_SIZE + 10] ?? 0) ^ 1;
  await writeFile(join(s.dataDir, CACHE_FILE), bytes);
  const again = await setup({ dataDir: s.dataDir });
  failed(await again.apply({ kind: "boot" }), "CORRAL_SNAPSHOT_DIGEST_MISMATCH");
  assert.equal(again.served(), undefined);
});

test("a config that cannot be cached is still served, with the error reported", async () => {
  const base = await setup();
  const blocked = join(base.dir, "a-file");
  await writeFile(blocked, "not a directory");
  const s = await setup({ dataDir: blocked });
  await fx.publish(s.store, v(1));
  const o = await s.apply({ kind: "pull" });
  assert.ok(o.ok && o.cacheError?.code === "CORRAL_DP_CONFIG_CACHE_WRITE");
  assert.equal(s.served(), 1);
});

test("after close nothing more is applied", async () => {
  const s = await setup();
  await fx.publish(s.store, v(1));
  await s.applier.close();
  s.applier.request({ kind: "pull" });
  await s.applier.idle();
  assert.equal(s.outcomes.length, 0);
});
