import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { REQUEST_ERRORS } from "../errors.ts";
import { isAdmit, type Priority } from "./decision.ts";
import { DEFAULT_MARKS, effectivePriority, LoadShedder, PRIORITIES } from "./load-shedder.ts";

const shedder = (extra: Partial<ConstructorParameters<typeof LoadShedder>[0]> = {}) =>
  new LoadShedder({ maxInflight: 100, maxEventLoopDelayMs: 100, random: () => 0, ...extra });
const at = (inFlight: number, eventLoopDelayMs = 0) => ({ inFlight, eventLoopDelayMs });
const admits = (s: LoadShedder, p: Priority) => isAdmit(s.admit(p));

test("priority order: batch is shed first, then standard, critical last", () => {
  const s = shedder();
  s.observe(at(50));
  assert.deepEqual(
    PRIORITIES.map((p) => admits(s, p)),
    [true, true, true],
  );
  s.observe(at(65));
  assert.deepEqual(
    PRIORITIES.map((p) => admits(s, p)),
    [false, true, true],
  );
  s.observe(at(85));
  assert.deepEqual(
    PRIORITIES.map((p) => admits(s, p)),
    [false, false, true],
  );
  s.observe(at(101));
  assert.deepEqual(
    PRIORITIES.map((p) => admits(s, p)),
    [false, false, false],
  );
});

test("hysteresis: a class keeps shedding until the load falls below its low-water mark", () => {
  const s = shedder();
  s.observe(at(61));
  assert.equal(admits(s, "batch"), false);
  s.observe(at(55));
  assert.equal(admits(s, "batch"), false, "between low (50) and high (60): still shedding");
  s.observe(at(49));
  assert.equal(admits(s, "batch"), true);
  s.observe(at(55));
  assert.equal(admits(s, "batch"), true, "between the marks, coming up: still admitting");
  s.observe(at(61));
  assert.equal(admits(s, "batch"), false);
});

test("event-loop delay counts as pressure like in-flight requests", () => {
  const s = shedder();
  s.observe(at(0, 90));
  assert.deepEqual(
    PRIORITIES.map((p) => admits(s, p)),
    [false, false, true],
  );
  assert.equal(s.pressure, 0.9);
});

test("a shed request gets 503, corral-reason shed and a jittered Retry-After", () => {
  const draws = [0, 0.99, 0.5];
  const s = shedder({ random: () => draws.shift()!, retryAfterS: { min: 2, max: 6 } });
  const seen = [0, 1, 2].map(() => s.admit("batch", at(99)));
  assert.deepEqual(
    seen.map((d) => (isAdmit(d) ? undefined : Number(d.headers?.["retry-after"]))),
    [2, 6, 4],
  );
  const first = seen[0]!;
  assert.ok(!isAdmit(first));
  assert.equal(first.code, "CORRAL_DP_SHED");
  const spec = REQUEST_ERRORS[first.code];
  assert.deepEqual([spec.status, spec.grpc, spec.reason], [503, 14, "shed"]);
  assert.equal(first.headers?.["retry-after"], "2");
});

test("shadow mode counts would-be sheds and admits; the kill switch admits everything", () => {
  const s = shedder({ mode: { shadow: true } });
  assert.deepEqual(s.admit("batch", at(99)), { admit: true, shadowed: ["shed"] });
  assert.deepEqual(s.stats().batch, { shed: 0, shadowShed: 1 });
  s.setMode({ disabled: true });
  assert.deepEqual(s.admit("critical", at(1000)), { admit: true });
  s.setMode({});
  assert.equal(isAdmit(s.admit("critical", at(1000))), false);
  assert.deepEqual(s.stats().critical, { shed: 1, shadowShed: 0 });
});

test("badly ordered or nonsense water marks are refused", () => {
  const marks = {
    batch: { high: 0.9, low: 0.5 },
    standard: { high: 0.8, low: 0.7 },
    critical: { high: 1, low: 0.9 },
  };
  assert.throws(() => shedder({ marks }), /standard water marks/);
  assert.throws(() => shedder({ marks: { ...marks, batch: { high: 0.5, low: 0.6 } } }), /low < high/);
  assert.throws(() => shedder({ maxInflight: 0 }), /maxInflight/);
  assert.throws(() => shedder({ retryAfterS: { min: 0, max: 1 } }), /retryAfterS/);
});

test("priority from plan and request header: a header can lower it, never raise it", () => {
  assert.equal(effectivePriority("standard", "batch"), "batch");
  assert.equal(effectivePriority("standard", "critical"), "standard");
  assert.equal(effectivePriority("critical", undefined), "critical");
  assert.equal(effectivePriority(undefined, "nonsense"), "standard");
  assert.equal(effectivePriority("batch", " Critical "), "batch");
});

test("property: above high-water a class is shed, below low-water it is not, and lower classes go first", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(150), fc.nat(150)), { maxLength: 100 }), (loads) => {
      const s = shedder();
      for (const [inFlight, delay] of loads) {
        s.observe(at(inFlight, delay));
        const shed = PRIORITIES.map((p) => s.isShedding(p));
        PRIORITIES.forEach((p, i) => {
          const { high, low } = DEFAULT_MARKS[p];
          if (s.pressure > high) assert.ok(shed[i], `${p} at ${s.pressure}`);
          if (s.pressure < low) assert.ok(!shed[i], `${p} at ${s.pressure}`);
        });
        for (let i = 1; i < shed.length; i++) assert.ok(!shed[i] || shed[i - 1], `${shed}`);
      }
    }),
  );
});
