import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Snapshot, type Tenant } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { MAX_SLOT_NAME_BYTES, tenantPayloadBytes } from "./tenant-size.ts";

function tenant(id: string, shardSize: number, targets: string[]): Tenant {
  return {
    id,
    name: id,
    status: "active",
    plan: "standard",
    limits: {
      rate: 1,
      burst: 1,
      concurrency: 0,
      priority: "standard",
      shardSize,
      shadow: false,
      disabled: false,
      quota: undefined,
    },
    shard: [],
    keys: [{ id: "k1", hash: Buffer.alloc(32, 7), scopes: ["invoke"], quota: undefined }],
    routes: [],
    upstreams: [
      {
        id: "up_1",
        name: "api",
        targets,
        connectTimeoutMs: 5000,
        retryBudgetPercent: 0,
        retryBudgetMinPerSecond: 0,
        retryBudgetWindowMs: 0,
        weights: [],
        healthCheck: undefined,
        outlier: undefined,
      },
    ],
    egressAllow: ["10.0.0.0/8"],
  };
}

const sizeOf = (tenants: Tenant[]) =>
  Snapshot.encode(Snapshot.fromPartial({ version: 1, epoch: 1, createdAtMs: 1, tenants })).finish().length;

test("a tenant's counted bytes are at least what it adds to a snapshot, with any shard of k slot names", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 64 }),
      fc.array(fc.string({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 32 }),
      fc.integer({ min: 1, max: MAX_SLOT_NAME_BYTES }),
      (k, targets, nameLength) => {
        const counted = tenantPayloadBytes(tenant("acme", k, targets));
        const placed = {
          ...tenant("acme", k, targets),
          shard: Array.from({ length: k }, (_, i) => `${i}`.padEnd(nameLength, "x")),
        };
        const added = sizeOf([placed]) - sizeOf([]);
        assert.ok(counted >= added, `${counted} < ${added}`);
        assert.ok(counted - added <= k * (2 + MAX_SLOT_NAME_BYTES) + 8, "and not far more");
      },
    ),
    { numRuns: 200 },
  );
});

test("tenants' counted bytes add up: the sum bounds a snapshot of them all", () => {
  const tenants = ["a", "b", "c"].map((id, i) => tenant(id, i + 1, [`http://10.0.0.${i}:80`]));
  const total = tenants.reduce((n, t) => n + tenantPayloadBytes(t), 0);
  assert.ok(total >= sizeOf(tenants) - sizeOf([]));
});
