import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { FsBlobStore } from "../../runtime/blob-store/fs-blob-store.ts";
import { readHeader } from "../../proto/snapshot-codec.ts";
import * as fx from "../../test/data-plane/fixtures.ts";
import { LiveConfig } from "../router/live-config.ts";
import { plainTenant } from "./validate-snapshot.ts";
import { CACHE_FILE, ConfigSources } from "./config-sources.ts";
import { SnapshotJob } from "./snapshot-job.ts";
import { InlineSnapshotLoader, ownBuffer, WorkerSnapshotLoader } from "./snapshot-loader.ts";

test("a typed array is transferred only when it owns its whole buffer", () => {
  const whole = new Uint8Array(8);
  assert.equal(ownBuffer(whole), whole);
  const view = new Uint8Array(whole.buffer, 2, 4);
  const copy = ownBuffer(view);
  assert.notEqual(copy, view);
  assert.equal(copy.byteLength, copy.buffer.byteLength);
  const pooled = Buffer.from("small"); // a view into Node's shared pool
  const own = ownBuffer(pooled);
  assert.equal(own.buffer.byteLength, 5);
  assert.notEqual(own.buffer, pooled.buffer);
  assert.deepEqual(Buffer.from(own), pooled);
});

async function sourcesIn(dir: string, pair: fx.SigningPair) {
  const settings = {
    publicKey: pair.publicKey,
    blobUrl: pathToFileURL(join(dir, "blobs")).href,
    dataDir: join(dir, "data"),
    maxBytes: fx.CAPACITY,
  };
  const store = new FsBlobStore(join(dir, "blobs"));
  const sources = new ConfigSources(store, settings.dataDir, settings.maxBytes);
  return { settings, store, sources };
}

test("the worker reads the store itself; its index serves exactly what the inline loader's does; errors keep their codes", async () => {
  const pair = fx.signingPair();
  const dir = await mkdtemp(join(tmpdir(), "corral-loader-"));
  const { settings, store, sources } = await sourcesIn(dir, pair);
  const keys = Array.from({ length: 300 }, () => fx.newKey());
  const tenants = keys.map((k, i) =>
    fx.tenant({ id: `t-${i}`, upstream: "http://127.0.0.1:9", keys: [{ id: `k${i}`, hash: k.hash }] }),
  );
  const pub = await fx.publish(store, fx.sign(fx.snapshot(1, tenants), pair));
  const pull = { trigger: { kind: "pull" as const }, maxCapacity: fx.CAPACITY };
  const worker = new WorkerSnapshotLoader(settings);
  try {
    const viaWorker = await worker.load(pull);
    const inline = await new InlineSnapshotLoader(new SnapshotJob(sources, pair.publicKey)).load(pull);
    assert.equal(viaWorker.outcome, "new");
    assert.equal(viaWorker.namedVersion, 1);
    assert.ok(viaWorker.outcome === "new" && inline.outcome === "new");
    const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    for (const pick of [
      (i: typeof inline.index) => i.payload,
      (i: typeof inline.index) => i.tenantRanges,
      (i: typeof inline.index) => i.keyTable,
      (i: typeof inline.index) => i.publicHosts,
      (i: typeof inline.index) => i.tenants.slots,
      (i: typeof inline.index) => i.tenants.ids,
      (i: typeof inline.index) => i.tenants.idOffsets,
    ])
      assert.ok(bytes(pick(viaWorker.index)).equals(bytes(pick(inline.index))));
    assert.deepEqual(viaWorker.index.meta, inline.index.meta);
    assert.ok(!("blob" in viaWorker), "the blob stays in the worker");
    const config = new LiveConfig(viaWorker.index, plainTenant);
    for (const [i, k] of keys.entries()) assert.equal(config.identify(k.key)?.tenant.id, `t-${i}`);
    await worker.persist(1);
    assert.deepEqual(
      await readFile(join(settings.dataDir, CACHE_FILE)),
      pub.blob,
      "the worker wrote the cache",
    );
    const served = { version: 1, digestHex: readHeader(pub.blob).digest.toString("hex") };
    const same = await worker.load({ ...pull, served });
    assert.deepEqual(
      Object.keys(same).sort(),
      ["header", "namedVersion", "outcome"],
      "same content: a header only",
    );
    assert.equal(same.outcome, "same");
    const boot = await worker.load({ trigger: { kind: "boot" }, maxCapacity: fx.CAPACITY, served });
    assert.equal(boot.outcome, "same", "the worker reads the disk cache too");
    await assert.rejects(
      worker.load({ ...pull, maxCapacity: 1000 }),
      (err: { code?: string; namedVersion?: number }) =>
        err.code === "CORRAL_SNAPSHOT_OVERSIZED" && err.namedVersion === 1,
    );
    await assert.rejects(
      worker.persist(1),
      (err: { code?: string }) => err.code === "CORRAL_DP_CONFIG_CACHE_WRITE",
    );
  } finally {
    await worker.close();
    await rm(dir, { recursive: true, force: true });
  }
  await assert.rejects(worker.load(pull), /loader closed/);
});
