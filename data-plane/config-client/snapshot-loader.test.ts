import assert from "node:assert/strict";
import { test } from "node:test";
import { readHeader } from "../../proto/snapshot-codec.ts";
import * as fx from "../../test/data-plane/fixtures.ts";
import { LiveConfig } from "../router/live-config.ts";
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

test("the worker's index serves exactly what the inline loader's does; errors keep their codes", async () => {
  const pair = fx.signingPair();
  const keys = Array.from({ length: 300 }, () => fx.newKey());
  const tenants = keys.map((k, i) =>
    fx.tenant({ id: `t-${i}`, upstream: "http://127.0.0.1:9", keys: [{ id: `k${i}`, hash: k.hash }] }),
  );
  const pub = fx.sign(fx.snapshot(1, tenants), pair);
  const worker = new WorkerSnapshotLoader(pair.publicKey);
  try {
    const viaWorker = await worker.load({ blob: Buffer.from(pub.blob), maxCapacity: fx.CAPACITY });
    const inline = await new InlineSnapshotLoader(pair.publicKey).load({
      blob: Buffer.from(pub.blob),
      maxCapacity: fx.CAPACITY,
    });
    assert.equal(viaWorker.outcome, "new");
    assert.ok(viaWorker.outcome === "new" && inline.outcome === "new");
    const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    for (const pick of [
      (i: typeof inline.index) => i.payload,
      (i: typeof inline.index) => i.tenantRanges,
      (i: typeof inline.index) => i.keyTable,
      (i: typeof inline.index) => i.tenants.slots,
      (i: typeof inline.index) => i.tenants.ids,
      (i: typeof inline.index) => i.tenants.idOffsets,
    ])
      assert.ok(bytes(pick(viaWorker.index)).equals(bytes(pick(inline.index))));
    assert.deepEqual(viaWorker.index.meta, inline.index.meta);
    assert.deepEqual(Buffer.from(viaWorker.blob), pub.blob, "the blob comes back whole");
    const config = new LiveConfig(viaWorker.index);
    for (const [i, k] of keys.entries()) assert.equal(config.identify(k.key)?.tenant.id, `t-${i}`);
    const served = { version: 1, digestHex: readHeader(pub.blob).digest.toString("hex") };
    const same = await worker.load({ blob: Buffer.from(pub.blob), maxCapacity: fx.CAPACITY, served });
    assert.equal(same.outcome, "same");
    await assert.rejects(
      worker.load({ blob: Buffer.from(pub.blob), maxCapacity: 1000 }),
      (err: { code?: string }) => err.code === "CORRAL_SNAPSHOT_OVERSIZED",
    );
  } finally {
    await worker.close();
  }
  await assert.rejects(
    worker.load({ blob: Buffer.from(pub.blob), maxCapacity: fx.CAPACITY }),
    /loader closed/,
  );
});
