import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { computeDemandShares } from "./demand-share.ts";

const members = ["dp-0", "dp-1", "dp-2"];
const now = 10_000;
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} vs ${b}`);

test("shares follow demand, above a floor, and sum to the whole rate", () => {
  const { shares, source } = computeDemandShares({
    members,
    nowMs: now,
    floor: 0.3,
    reports: [
      { member: "dp-0", demand: 90, atMs: now - 100 },
      { member: "dp-1", demand: 10, atMs: now - 100 },
    ],
  });
  assert.equal(source, "demand");
  close(shares.get("dp-0")!, 0.1 + 0.7 * 0.9);
  close(shares.get("dp-1")!, 0.1 + 0.7 * 0.1);
  close(shares.get("dp-2")!, 0.1);
});

test("with the limit known: below it, every member gets its demand plus an equal part of the rest", () => {
  const reports = [
    { member: "dp-0", demand: 30, atMs: now },
    { member: "dp-1", demand: 0, atMs: now },
  ];
  const { shares } = computeDemandShares({ members, nowMs: now, floor: 0.3, reports, limit: 90 });
  close(shares.get("dp-0")!, 0.1 + 0.7 * ((30 + 20) / 90));
  close(shares.get("dp-1")!, 0.1 + 0.7 * (20 / 90));
  close(shares.get("dp-2")!, 0.1 + 0.7 * (20 / 90));
});

test("with the limit known: at or above it, the split is by demand alone", () => {
  const reports = [
    { member: "dp-0", demand: 150, atMs: now },
    { member: "dp-1", demand: 50, atMs: now },
  ];
  const { shares } = computeDemandShares({ members, nowMs: now, floor: 0.3, reports, limit: 100 });
  close(shares.get("dp-0")!, 0.1 + 0.7 * 0.75);
  close(shares.get("dp-2")!, 0.1);
});

test("only the latest fresh report of a member counts; bad and foreign reports are ignored", () => {
  const { shares } = computeDemandShares({
    members,
    nowMs: now,
    floor: 0.3,
    freshMs: 1000,
    reports: [
      { member: "dp-0", demand: 1000, atMs: now - 5000 },
      { member: "dp-0", demand: 10, atMs: now - 500 },
      { member: "dp-0", demand: 30, atMs: now - 200 },
      { member: "dp-1", demand: 10, atMs: now - 300 },
      { member: "dp-2", demand: -5, atMs: now },
      { member: "dp-2", demand: Number.NaN, atMs: now },
      { member: "dp-9", demand: 500, atMs: now },
    ],
  });
  close(shares.get("dp-0")!, 0.1 + 0.7 * 0.75);
  close(shares.get("dp-1")!, 0.1 + 0.7 * 0.25);
  close(shares.get("dp-2")!, 0.1);
});

test("no fresh report keeps the previous shares; a changed shard or no history splits equally", () => {
  const previous = new Map([
    ["dp-0", 0.5],
    ["dp-1", 0.3],
    ["dp-2", 0.2],
  ]);
  const stale = [{ member: "dp-0", demand: 5, atMs: now - 60_000 }];
  assert.deepEqual(computeDemandShares({ members, nowMs: now, reports: stale, previous }), {
    shares: previous,
    source: "previous",
  });
  const moved = computeDemandShares({ members: ["dp-0", "dp-1", "dp-7"], nowMs: now, reports: [], previous });
  assert.equal(moved.source, "equal");
  for (const share of moved.shares.values()) close(share, 1 / 3);
  const idle = computeDemandShares({
    members,
    nowMs: now,
    reports: members.map((member) => ({ member, demand: 0, atMs: now })),
  });
  for (const share of idle.shares.values()) close(share, 1 / 3);
});

test("nonsense input is refused", () => {
  assert.throws(() => computeDemandShares({ members: [], nowMs: now, reports: [] }), /at least one/);
  assert.throws(() => computeDemandShares({ members: ["a", "a"], nowMs: now, reports: [] }), /distinct/);
  assert.throws(() => computeDemandShares({ members, nowMs: now, reports: [], floor: 2 }), /floor/);
  assert.throws(() => computeDemandShares({ members, nowMs: now, reports: [], floor: 0 }), /floor/);
});

test("property: shares sum to 1, respect the floor, and rank like demand", () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 8 }),
      fc.double({ min: 0.001, max: 1, noNaN: true }),
      fc.option(fc.double({ min: 0.1, max: 2e6, noNaN: true }), { nil: undefined }),
      (demands, floor, limit) => {
        const names = demands.map((_, i) => `m${i}`);
        const reports = demands.map((demand, i) => ({ member: names[i]!, demand, atMs: now }));
        const { shares } = computeDemandShares({ members: names, nowMs: now, reports, floor, limit });
        const values = names.map((n) => shares.get(n)!);
        assert.ok(Math.abs(values.reduce((a, b) => a + b, 0) - 1) < 1e-9);
        for (const v of values) assert.ok(v >= floor / names.length - 1e-12 && v > 0);
        for (let i = 0; i < demands.length; i++) {
          for (let j = 0; j < demands.length; j++) {
            if (demands[i]! > demands[j]!) assert.ok(values[i]! >= values[j]! - 1e-12);
          }
        }
      },
    ),
  );
});
