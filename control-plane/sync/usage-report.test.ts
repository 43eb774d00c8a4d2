import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { UsageCount } from "../../proto/gen/corral/sync/v1/sync.ts";
import { assertUsageBounded, UsageRollup, usageEntryProblem, usageRow } from "./usage-report.ts";

const H = 3_600_000;
const NOW = 1000 * H + 1234;
const ok: UsageCount = {
  tenantId: "acme",
  keyId: "0123456789ab",
  routeId: "rt_0123456789abcdef",
  outcome: "admitted",
  hourStartMs: 1000 * H,
  count: 5,
};

test("well-formed entries pass; each kind of bad entry is named", () => {
  assert.equal(usageEntryProblem(ok, NOW), undefined);
  assert.equal(usageEntryProblem({ ...ok, keyId: "", routeId: "" }, NOW), undefined);
  assert.equal(usageEntryProblem({ ...ok, hourStartMs: 953 * H }, NOW), undefined, "47 hours back");
  const cases: [Partial<UsageCount>, string][] = [
    [{ tenantId: "Acme" }, "bad_id"],
    [{ tenantId: "" }, "bad_id"],
    [{ keyId: "xyz" }, "bad_id"],
    [{ routeId: "rt_../../x" }, "bad_id"],
    [{ outcome: "anything" }, "bad_outcome"],
    [{ hourStartMs: 1001 * H }, "bad_hour"],
    [{ hourStartMs: 951 * H }, "bad_hour"],
    [{ hourStartMs: 1000 * H + 1 }, "bad_hour"],
    [{ count: 0 }, "bad_count"],
    [{ count: 200_000_001 }, "bad_count"],
  ];
  for (const [over, problem] of cases) assert.equal(usageEntryProblem({ ...ok, ...over }, NOW), problem);
});

test("a frame carries at most 256 entries", () => {
  assertUsageBounded(Array(256).fill(ok));
  assert.throws(() => assertUsageBounded(Array(257).fill(ok)), { code: "CORRAL_SYNC_BAD_FRAME" });
});

test("the rollup adds counts of one (tenant, hour, key, route, outcome) and keeps the others apart", () => {
  const r = new UsageRollup();
  r.add(usageRow(ok));
  r.add(usageRow({ ...ok, count: 7 }));
  r.add(usageRow({ ...ok, outcome: "quota", count: 2 }));
  r.add(usageRow({ ...ok, hourStartMs: 999 * H, count: 1 }));
  const rows = r.take();
  assert.deepEqual(
    rows.map((x) => [x.outcome, x.hourMs, x.count]),
    [
      ["admitted", 1000 * H, 12],
      ["quota", 1000 * H, 2],
      ["admitted", 999 * H, 1],
    ],
  );
  assert.equal(r.size, 0, "taken whole");
});

test("the rollup is bounded: a new row past the bound is refused, counts of known rows still add", () => {
  const r = new UsageRollup(2);
  assert.ok(r.add(usageRow({ ...ok, tenantId: "a" })));
  assert.ok(r.add(usageRow({ ...ok, tenantId: "b" })));
  assert.equal(r.add(usageRow({ ...ok, tenantId: "c" })), false);
  assert.ok(r.add(usageRow({ ...ok, tenantId: "a" })));
  assert.deepEqual(
    r.take().map((x) => x.count),
    [10, 5],
  );
});

test("merging in any order and any batching gives the same totals (property)", () => {
  const entry = fc.record({
    tenantId: fc.constantFrom("a", "b"),
    keyId: fc.constantFrom("", "0123456789ab"),
    routeId: fc.constant(""),
    outcome: fc.constantFrom("admitted", "quota", "shed"),
    hourStartMs: fc.constantFrom(999 * H, 1000 * H),
    count: fc.integer({ min: 1, max: 1000 }),
  });
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 60 }), fc.integer({ min: 1, max: 10 }), (entries, batch) => {
      const totals = (rows: ReturnType<UsageRollup["take"]>) => {
        const m = new Map<string, number>();
        for (const x of rows) {
          const k = `${x.tenantId}|${x.keyId}|${x.outcome}|${x.hourMs}`;
          m.set(k, (m.get(k) ?? 0) + x.count);
        }
        return m;
      };
      const once = new UsageRollup();
      for (const e of entries) once.add(usageRow(e));
      const batched: ReturnType<UsageRollup["take"]> = [];
      const r = new UsageRollup();
      entries.forEach((e, i) => {
        r.add(usageRow(e));
        if ((i + 1) % batch === 0) batched.push(...r.take());
      });
      batched.push(...r.take());
      assert.deepEqual(totals(batched), totals(once.take()));
    }),
  );
});
