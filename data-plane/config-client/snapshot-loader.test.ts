import assert from "node:assert/strict";
import { test } from "node:test";
import * as fx from "../../test/data-plane/fixtures.ts";
import type { PlainTenant } from "./plain-config.ts";
import { chunkEnd, InlineSnapshotLoader, tenantWeight, WorkerSnapshotLoader } from "./snapshot-loader.ts";

function plain(id: string, routes: number): PlainTenant {
  return {
    id,
    name: id,
    status: "active",
    plan: "p",
    limits: undefined,
    shard: [],
    keys: [],
    upstreams: [],
    routes: Array.from({ length: routes }, () => ({}) as PlainTenant["routes"][number]),
  };
}

test("chunks hold tenants up to a weight, and at least one tenant", () => {
  const tenants = [plain("a", 1), plain("b", 1), plain("c", 100), plain("d", 1)];
  assert.equal(tenantWeight(tenants[0]!), 6);
  assert.equal(chunkEnd(tenants, 0, 12), 2);
  assert.equal(chunkEnd(tenants, 2, 12), 3, "a heavy tenant is a chunk of its own");
  assert.equal(chunkEnd(tenants, 3, 12), 4);
  assert.equal(chunkEnd(tenants, 4, 12), 4);
});

async function collect(loader: InlineSnapshotLoader | WorkerSnapshotLoader, blob: Uint8Array) {
  const loaded = await loader.load({ blob, maxCapacity: fx.CAPACITY });
  assert.equal(loaded.outcome, "new");
  if (loaded.outcome !== "new") return [];
  const ids: string[] = [];
  for await (const chunk of loaded.chunks) ids.push(...chunk.map((t) => t.id));
  return ids;
}

test("the worker returns the same tenants as the inline loader, and errors with their codes", async () => {
  const pair = fx.signingPair();
  const tenants = Array.from({ length: 700 }, (_, i) =>
    fx.tenant({ id: `t-${i}`, upstream: "http://127.0.0.1:9" }),
  );
  const pub = fx.sign(fx.snapshot(1, tenants), pair);
  const worker = new WorkerSnapshotLoader(pair.publicKey);
  try {
    const expected = tenants.map((t) => t.id);
    assert.deepEqual(
      await collect(new InlineSnapshotLoader(pair.publicKey), Buffer.from(pub.blob)),
      expected,
    );
    assert.deepEqual(await collect(worker, Buffer.from(pub.blob)), expected);
    const same = await worker.load({
      blob: Buffer.from(pub.blob),
      maxCapacity: fx.CAPACITY,
      served: { version: 1, digestHex: await readDigest(pub.blob) },
    });
    assert.equal(same.outcome, "same");
    assert.deepEqual(Buffer.from(same.blob), pub.blob, "the blob comes back whole");
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

async function readDigest(blob: Uint8Array): Promise<string> {
  const { readHeader } = await import("../../proto/snapshot-codec.ts");
  return readHeader(blob).digest.toString("hex");
}
