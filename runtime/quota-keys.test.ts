import assert from "node:assert/strict";
import { test } from "node:test";
import { quotaCounterKey } from "./quota-keys.ts";

test("tenant and key counters are named by tenant, scope and period start", () => {
  assert.equal(
    quotaCounterKey("t_abc-1", { kind: "tenant" }, 1_765_152_000_000),
    "corral:quota:t_abc-1:t:1765152000000",
  );
  assert.equal(
    quotaCounterKey("t_abc-1", { kind: "key", keyId: "k_9" }, 1_765_152_000_000),
    "corral:quota:t_abc-1:k:k_9:1765152000000",
  );
});

test("ids outside [A-Za-z0-9_-]{1,64} never become part of a key", () => {
  const bad = ["", "a:b", "a*", "a b", "a\nb", "{a}", "é", "x".repeat(65), "a:t:1"];
  for (const id of bad) {
    assert.throws(() => quotaCounterKey(id, { kind: "tenant" }, 0), RangeError, JSON.stringify(id));
    assert.throws(() => quotaCounterKey("t1", { kind: "key", keyId: id }, 0), RangeError, JSON.stringify(id));
  }
  assert.equal(quotaCounterKey("x".repeat(64), { kind: "tenant" }, 0), `corral:quota:${"x".repeat(64)}:t:0`);
  assert.throws(() => quotaCounterKey("t1", { kind: "tenant" }, 1.5), RangeError);
  assert.throws(() => quotaCounterKey("t1", { kind: "tenant" }, Number.NaN), RangeError);
});
