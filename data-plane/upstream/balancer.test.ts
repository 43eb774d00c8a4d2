import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { type Candidate, excluding, pickTarget } from "./balancer.ts";
import type { Availability } from "./down-list.ts";

/** A seeded generator (mulberry32), so a failing property replays. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const candidate = fc.record({
  weight: fc.integer({ min: 1, max: 100 }),
  view: fc.record({
    availability: fc.constantFrom<Availability>("up", "probe", "down"),
    outstanding: fc.nat(50),
    ramp: fc.double({ min: 0.1, max: 1, noNaN: true }),
  }),
});

test("property: never a down target while another one can take it; -1 only when all are down", () => {
  fc.assert(
    fc.property(fc.array(candidate, { minLength: 1, maxLength: 12 }), fc.integer(), (cands, seed) => {
      const random = seeded(seed);
      for (let i = 0; i < 20; i++) {
        const picked = pickTarget(cands, random);
        const anyAvailable = cands.some((c) => c.view.availability !== "down");
        if (!anyAvailable) assert.equal(picked, -1);
        else {
          assert.ok(picked >= 0 && picked < cands.length);
          assert.notEqual(cands[picked]!.view.availability, "down");
          // a half-open target takes the probe before anyone else
          if (cands.some((c) => c.view.availability === "probe"))
            assert.equal(cands[picked]!.view.availability, "probe");
        }
      }
    }),
  );
});

test("property: of the two drawn, the less loaded wins: never the most loaded of several up targets", () => {
  fc.assert(
    fc.property(fc.integer({ min: 3, max: 8 }), fc.integer(), (n, seed) => {
      const cands: Candidate[] = Array.from({ length: n }, (_, i) => ({
        weight: 1,
        view: { availability: "up", outstanding: i === 0 ? 100 : i, ramp: 1 },
      }));
      const random = seeded(seed);
      for (let i = 0; i < 50; i++) assert.notEqual(pickTarget(cands, random), 0);
    }),
  );
});

test("property: idle targets get traffic in proportion to their weights (±10 % of each share)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 2, maxLength: 5 }),
      fc.integer(),
      (weights, seed) => {
        const cands: Candidate[] = weights.map((weight) => ({
          weight,
          view: { availability: "up", outstanding: 0, ramp: 1 },
        }));
        const random = seeded(seed);
        const picks = weights.map(() => 0);
        const n = 40_000;
        for (let i = 0; i < n; i++) picks[pickTarget(cands, random)]!++;
        const total = weights.reduce((a, b) => a + b, 0);
        for (const [i, w] of weights.entries()) {
          const expected = (n * w) / total;
          assert.ok(
            Math.abs(picks[i]! - expected) <= expected * 0.1,
            `target ${i}: ${picks[i]} vs ${expected}`,
          );
        }
      },
    ),
    { numRuns: 30 },
  );
});

test("equal busy targets: least outstanding keeps their loads level", () => {
  const random = seeded(7);
  const outstanding = [0, 0, 0];
  const served = [0, 0, 0];
  // each pick adds one outstanding exchange; one random target finishes one per step
  for (let step = 0; step < 30_000; step++) {
    const cands: Candidate[] = outstanding.map((o) => ({
      weight: 1,
      view: { availability: "up", outstanding: o, ramp: 1 },
    }));
    const i = pickTarget(cands, random);
    outstanding[i]!++;
    served[i]!++;
    const done = Math.floor(random() * 3);
    if (outstanding[done]! > 0) outstanding[done]!--;
  }
  const mean = served.reduce((a, b) => a + b) / 3;
  for (const s of served) assert.ok(Math.abs(s - mean) <= mean * 0.1, `spread ${served}`);
});

test("slow start: a target that just came back gets a small share, rising with its ramp", () => {
  const random = seeded(3);
  const share = (ramp: number) => {
    const cands: Candidate[] = [
      { weight: 1, view: { availability: "up", outstanding: 0, ramp: 1 } },
      { weight: 1, view: { availability: "up", outstanding: 0, ramp } },
    ];
    let back = 0;
    for (let i = 0; i < 20_000; i++) if (pickTarget(cands, random) === 1) back++;
    return back / 20_000;
  };
  const early = share(0.1);
  const later = share(0.5);
  assert.ok(early > 0.06 && early < 0.12, `at 10 %: ${early}`);
  assert.ok(later > 0.3 && later < 0.37, `at 50 %: ${later}`);
});

test("property: a retry's exclusion skips the tried targets while another is available, else changes nothing", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(candidate, fc.boolean()), { minLength: 1, maxLength: 12 }),
      fc.integer(),
      (rows, seed) => {
        const cands = rows.map(([c]) => c);
        const tried = (i: number) => rows[i]![1];
        const another = cands.some((c, i) => !tried(i) && c.view.availability !== "down");
        const random = seeded(seed);
        for (let i = 0; i < 20; i++) {
          const picked = pickTarget(excluding(cands, tried), random);
          if (another) assert.ok(picked >= 0 && !tried(picked), "an untried target");
        }
        if (!another) assert.equal(excluding(cands, tried), cands, "nothing else available: unchanged");
      },
    ),
  );
});
