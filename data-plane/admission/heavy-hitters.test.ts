import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { HeavyHitterBuckets } from "./heavy-hitters.ts";

const SPEC = { rate: 10, burst: 10 };
/** no decay within the test's time span: counts are plain counts */
const NO_DECAY = 1e15;

test("1,000,000 distinct addresses and 10 heavy ones: fixed size, the heavy ones limited to their rate ± 10 %", () => {
  const slots = 1024;
  const hh = new HeavyHitterBuckets(slots);
  const seconds = 60;
  const heavyRate = 100; // each heavy client sends 10x its limit
  const heavy = Array.from({ length: 10 }, (_, i) => `2001:db8:${i}::/64`);
  const admitted = new Array<number>(heavy.length).fill(0);
  const floodPerMs = 1_000_000 / (seconds * 1000);
  let flooded = 0;
  let floodAdmitted = 0;
  const heapBefore = process.memoryUsage().heapUsed;
  for (let ms = 0; ms < seconds * 1000; ms++) {
    const due = Math.round((ms + 1) * floodPerMs);
    for (; flooded < due; flooded++) {
      if (
        hh.take(`10.${(flooded >> 16) & 255}.${(flooded >> 8) & 255}.${flooded & 255}#${flooded}`, SPEC, ms)
          .ok
      )
        floodAdmitted++;
    }
    heavy.forEach((key, i) => {
      if ((ms + i) % (1000 / heavyRate) === 0 && hh.take(key, SPEC, ms).ok) admitted[i]!++;
    });
    if (ms % 10_000 === 0) assert.ok(hh.size <= slots);
  }
  assert.equal(flooded, 1_000_000);
  assert.equal(hh.size, slots, "the structure holds exactly its slots, whatever the number of addresses");
  assert.equal(floodAdmitted, flooded, "a one-off address is never limited");
  for (const [i, key] of heavy.entries()) {
    assert.ok(hh.monitors(key), `${key} is monitored`);
    const rate = (admitted[i]! - SPEC.burst) / seconds;
    assert.ok(
      Math.abs(rate - SPEC.rate) <= SPEC.rate * 0.1,
      `${key}: ${rate}/s admitted, limit ${SPEC.rate}/s`,
    );
  }
  const grownMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  assert.ok(grownMiB < 64, `heap grew ${grownMiB.toFixed(1)} MiB`);
});

test("Space-Saving guarantee: every key above 1/slots of the traffic is monitored, never more than slots keys", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 16 }),
      fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 400 }),
      (slots, stream) => {
        const hh = new HeavyHitterBuckets(slots, NO_DECAY);
        const counts = new Map<number, number>();
        stream.forEach((k, t) => {
          hh.take(`k${k}`, SPEC, t);
          counts.set(k, (counts.get(k) ?? 0) + 1);
        });
        assert.ok(hh.size <= slots);
        for (const [k, n] of counts)
          if (n > stream.length / slots) assert.ok(hh.monitors(`k${k}`), `k${k}: ${n}`);
      },
    ),
  );
});

test("a monitored key's bucket: burst, then the rate; retry-after says when the next token comes", () => {
  const hh = new HeavyHitterBuckets(4, NO_DECAY);
  for (let i = 0; i < 10; i++) assert.ok(hh.take("a", SPEC, 0).ok);
  const refused = hh.take("a", SPEC, 0);
  assert.deepEqual(refused, { ok: false, retryAfterMs: 100 });
  assert.ok(hh.take("a", SPEC, 100).ok);
  assert.equal(hh.take("a", SPEC, 150).ok, false);
  assert.equal(hh.take("a", SPEC, 50).ok, false, "a clock going back mints nothing");
});

test("old traffic decays: a key that stopped loses its slot to one that is busy now", () => {
  const hh = new HeavyHitterBuckets(2, 1_000);
  for (let i = 0; i < 1_000; i++) hh.take("old", SPEC, 0);
  hh.take("steady", SPEC, 0);
  for (let t = 10_000; t < 10_100; t++) hh.take("steady", SPEC, t);
  hh.take("new", SPEC, 20_000);
  assert.ok(hh.monitors("steady"));
  assert.ok(hh.monitors("new"));
  assert.equal(hh.monitors("old"), false);
});

test("counts are rescaled long before they overflow, keeping their order", () => {
  const hh = new HeavyHitterBuckets(2, 1);
  hh.take("a", SPEC, 0);
  hh.take("a", SPEC, 0);
  hh.take("b", SPEC, 0);
  for (let t = 1; t < 5_000; t += 97) hh.take("a", SPEC, t);
  hh.take("c", SPEC, 5_000);
  assert.ok(hh.monitors("a"));
  assert.ok(hh.monitors("c"));
});

test("slots and half-life are checked", () => {
  assert.throws(() => new HeavyHitterBuckets(0), RangeError);
  assert.throws(() => new HeavyHitterBuckets(1.5), RangeError);
  assert.throws(() => new HeavyHitterBuckets(4, 0), RangeError);
});
