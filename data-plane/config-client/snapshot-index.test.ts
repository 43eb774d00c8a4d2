import assert from "node:assert/strict";
import { test } from "node:test";
import { Snapshot, Tenant } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import * as fx from "../../test/data-plane/fixtures.ts";
import { ConfigApplyError } from "../errors.ts";
import { buildSnapshotIndex, scanTenantRanges } from "./snapshot-index.ts";

const meta = {
  version: 1,
  epoch: 1,
  createdAtMs: 0,
  digestHex: "",
  slots: [],
  settings: undefined,
  tenantCount: 0,
};

test("tenant ranges point at each tenant's own bytes, whatever other fields surround them", () => {
  const tenants = ["a", "b", "c"].map((id) => fx.tenant({ id, upstream: "http://127.0.0.1:9" }));
  const snap = Snapshot.fromPartial({
    version: 9,
    slots: [{ name: "dp-0", zone: "z" }],
    tenants,
    settings: { strictPlacement: true },
  });
  const payload = Snapshot.encode(snap).finish();
  const ranges = scanTenantRanges(payload);
  assert.equal(ranges.length, 6);
  for (let i = 0; i < 3; i++)
    assert.deepEqual(Tenant.decode(payload.subarray(ranges[2 * i]!, ranges[2 * i + 1]!)), tenants[i]);
  assert.deepEqual(scanTenantRanges(new Uint8Array()), new Uint32Array());
  assert.throws(() => scanTenantRanges(payload.subarray(0, payload.length - 3)));
});

test("two keys with one hash make the snapshot invalid, naming the second", () => {
  const k = fx.newKey();
  const snap = fx.snapshot(1, [
    fx.tenant({ id: "a", upstream: "http://127.0.0.1:9", keys: [{ id: "k1", hash: k.hash }] }),
    fx.tenant({ id: "b", upstream: "http://127.0.0.1:9", keys: [{ id: "k2", hash: k.hash }] }),
  ]);
  assert.throws(
    () => buildSnapshotIndex(meta, Snapshot.encode(snap).finish(), snap),
    (err: unknown) =>
      err instanceof ConfigApplyError && /tenant "b" key "k2": key hash appears twice/.test(err.message),
  );
});
