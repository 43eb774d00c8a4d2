import assert from "node:assert/strict";
import { test } from "node:test";
import { SyncFrame } from "../../proto/gen/corral/sync/v1/sync.ts";
import { USAGE_ENTRIES_PER_FRAME } from "../../proto/usage-report.ts";
import { MAX_FRAME_BYTES } from "../sync/sync-client.ts";
import { UsageMeter } from "./usage-meter.ts";

const H = 3_600_000;

test("counts per tenant, key, route and outcome, stamped with the hour counting began in", () => {
  let now = 10 * H + 5_000;
  const meter = new UsageMeter({ now: () => now });
  for (let i = 0; i < 3; i++) meter.count("t1", "k1", "r1", "admitted");
  meter.count("t1", "k1", "r1", "quota");
  meter.count("t2", "", "", "no_route");
  now = 11 * H + 2_000; // taken just after the hour: still the hour counting began in
  const first = meter.take();
  assert.deepEqual(
    first.map((e) => [e.tenantId, e.keyId, e.routeId, e.outcome, e.hourStartMs, e.count]),
    [
      ["t1", "k1", "r1", "admitted", 10 * H, 3],
      ["t1", "k1", "r1", "quota", 10 * H, 1],
      ["t2", "", "", "no_route", 10 * H, 1],
    ],
  );
  meter.count("t1", "k1", "r1", "admitted");
  assert.deepEqual(
    meter.take().map((e) => [e.hourStartMs, e.count]),
    [[11 * H, 1]],
  );
  assert.deepEqual(meter.take(), []);
});

test("at most `max` entries per take; the rest wait, merged with later counts of their hour", () => {
  const meter = new UsageMeter({ now: () => 0 });
  for (let i = 0; i < 10; i++) meter.count(`t${i}`, "", "", "admitted");
  assert.equal(meter.take(4).length, 4);
  assert.equal(meter.pending, 6);
  meter.count("t9", "", "", "admitted");
  const rest = meter.take(100);
  assert.equal(rest.length, 6);
  assert.equal(rest.find((e) => e.tenantId === "t9")!.count, 2);
});

test("memory is bounded: cells and pending entries past their caps are dropped and counted", () => {
  const meter = new UsageMeter({ now: () => 0, maxCells: 3, maxPending: 4 });
  for (let i = 0; i < 5; i++) meter.count(`t${i}`, "", "", "admitted");
  assert.equal(meter.dropped, 2);
  meter.take(0); // 3 pending
  for (let i = 5; i < 8; i++) meter.count(`t${i}`, "", "", "shed");
  meter.take(0); // room for one more
  assert.equal(meter.pending, 4);
  assert.equal(meter.dropped, 4);
});

test("a full Status of the longest entries fits a sync frame", () => {
  const usage = Array.from({ length: USAGE_ENTRIES_PER_FRAME }, () => ({
    tenantId: "t".repeat(63),
    keyId: "f".repeat(12),
    routeId: `rt_${"f".repeat(16)}`,
    outcome: "payload_too_large",
    hourStartMs: 9_999_999 * H,
    count: Number.MAX_SAFE_INTEGER,
  }));
  const frame = SyncFrame.encode({
    status: {
      version: 2 ** 52,
      configAgeMs: 2 ** 52,
      inflight: 2 ** 31,
      shed: 2 ** 52,
      fetchError: "x".repeat(1024),
      usage,
    },
  }).finish();
  assert.ok(frame.length < MAX_FRAME_BYTES * 0.75, `${frame.length} bytes`);
});
