import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { DEFAULT_OUTLIER_POLICY, DownList, type OutlierPolicy, type Outcome } from "./down-list.ts";

function clock(start = 1_000) {
  const c = { now: start, read: () => c.now };
  return c;
}

const policy: OutlierPolicy = {
  consecutiveFailures: 3,
  baseEjectionMs: 1_000,
  maxEjectionMs: 4_000,
  maxEjectedPercent: 100,
  slowStartMs: 2_000,
};
const GROUP = ["a", "b", "c"];

function exchange(list: DownList, key: string, outcome: Outcome, p = policy, group = GROUP) {
  list.begin(key);
  list.end(key, outcome, p, group);
}

test("consecutive failures eject; a success in between starts the count again", () => {
  const c = clock();
  const list = new DownList(c.read);
  exchange(list, "a", "failure");
  exchange(list, "a", "failure");
  exchange(list, "a", "ok");
  exchange(list, "a", "failure");
  exchange(list, "a", "failure");
  assert.equal(list.down("a"), false);
  exchange(list, "a", "failure");
  assert.equal(list.down("a"), true);
  assert.equal(list.view("a", 0).availability, "down");
});

test("a connect failure ejects at once; each ejection lasts longer, capped", () => {
  const c = clock();
  const list = new DownList(c.read);
  const times: number[] = [];
  for (let i = 0; i < 6; i++) {
    // the first ejection, then each failed probe
    list.markDown("a", policy);
    const from = c.now;
    while (list.view("a", 0).availability === "down") c.now += 100;
    times.push(c.now - from);
  }
  assert.deepEqual(times, [1_000, 2_000, 3_000, 4_000, 4_000, 4_000]);
});

test("half-open: exactly one probe at a time; its success brings the target back with slow start", () => {
  const c = clock();
  const list = new DownList(c.read);
  list.markDown("a", policy);
  c.now += 1_000;
  assert.equal(list.view("a", 2_000).availability, "probe");
  list.begin("a");
  assert.equal(list.view("a", 2_000).availability, "down", "the probe is in flight");
  list.end("a", "ok", policy, GROUP);
  const back = list.view("a", 2_000);
  assert.equal(back.availability, "up");
  assert.equal(back.ramp, 0.1);
  c.now += 1_000;
  assert.equal(list.view("a", 2_000).ramp, 0.5);
  c.now += 1_000;
  assert.equal(list.view("a", 2_000).ramp, 1);
});

test("a neutral end frees the probe slot; a failed probe ejects again for longer", () => {
  const c = clock();
  const list = new DownList(c.read);
  list.markDown("a", policy);
  c.now += 1_000;
  list.begin("a");
  list.end("a", "neutral", policy, GROUP);
  assert.equal(list.view("a", 0).availability, "probe");
  exchange(list, "a", "failure");
  assert.equal(list.down("a"), true);
  c.now += 1_999;
  assert.equal(list.down("a"), true);
  c.now += 1;
  assert.equal(list.view("a", 0).availability, "probe");
});

test("5xx ejections stop at the share; connect failures do not", () => {
  const c = clock();
  const list = new DownList(c.read);
  const half = { ...policy, maxEjectedPercent: 50, consecutiveFailures: 1 };
  const four = ["a", "b", "c", "d"];
  for (const k of four) exchange(list, k, "failure", half, four);
  assert.equal(list.downCount(), 2, "50 % of 4");
  for (const k of four) exchange(list, k, "connect_failure", half, four);
  assert.equal(list.downCount(), 4);
  // at least one may always go
  const solo = new DownList(c.read);
  exchange(solo, "x", "failure", { ...half, maxEjectedPercent: 0 }, ["x"]);
  assert.equal(solo.down("x"), true);
});

test("active checks: unhealthy takes a target out whatever passive says; healthy brings it back", () => {
  const c = clock();
  const list = new DownList(c.read);
  list.setActive("a", false);
  assert.equal(list.down("a"), true);
  exchange(list, "a", "ok");
  assert.equal(list.down("a"), true);
  list.markDown("a", policy);
  list.setActive("a", true);
  assert.equal(list.view("a", 0).availability, "up");
});

test("live keeps the order of the targets not down, or all of them", () => {
  const c = clock();
  const list = new DownList(c.read);
  list.markDown("y");
  assert.deepEqual(
    list.live(["x", "y", "z"], (k) => k),
    ["x", "z"],
  );
  list.markDown("x");
  list.markDown("z");
  assert.deepEqual(
    list.live(["x", "y", "z"], (k) => k),
    ["x", "y", "z"],
  );
});

test("sweep forgets targets back to normal and keeps those in trouble", () => {
  const c = clock();
  const list = new DownList(c.read);
  exchange(list, "ok", "ok");
  list.markDown("bad", policy);
  list.sweep(policy.maxEjectionMs, policy.slowStartMs);
  assert.equal(list.size, 1);
  c.now += 60_000;
  exchange(list, "bad", "ok");
  list.sweep(policy.maxEjectionMs, 0);
  assert.equal(list.size, 0);
});

/** The state machine against a model: random outcomes and time steps. */
test("property: the ejection state machine", () => {
  const step = fc.oneof(
    fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 3_000 }) }),
    fc.record({
      kind: fc.constant("exchange" as const),
      key: fc.constantFrom("a", "b", "c", "d"),
      outcome: fc.constantFrom<Outcome>("ok", "failure", "connect_failure", "neutral"),
    }),
    fc.record({
      kind: fc.constant("active" as const),
      key: fc.constantFrom("a", "b", "c", "d"),
      healthy: fc.boolean(),
    }),
    fc.record({ kind: fc.constant("circuit" as const) }),
  );
  const pol = fc.record({
    consecutiveFailures: fc.integer({ min: 1, max: 5 }),
    baseEjectionMs: fc.integer({ min: 100, max: 2_000 }),
    maxEjectionMs: fc.integer({ min: 2_000, max: 10_000 }),
    maxEjectedPercent: fc.integer({ min: 0, max: 100 }),
    slowStartMs: fc.integer({ min: 0, max: 5_000 }),
  });
  fc.assert(
    fc.property(pol, fc.array(step, { maxLength: 200 }), (p, steps) => {
      const c = clock();
      const list = new DownList(c.read);
      const keys = ["a", "b", "c", "d"];
      const allowed = Math.max(1, Math.floor((keys.length * p.maxEjectedPercent) / 100));
      const activeDown = new Set<string>();
      const ejectedAt = new Map<string, number>();
      let fiveXx = 0;
      let lastCircuitProbe = Number.NEGATIVE_INFINITY;
      list.onEject = (cause) => {
        if (cause === "5xx") fiveXx++;
      };
      for (const s of steps) {
        if (s.kind === "advance") c.now += s.ms;
        else if (s.kind === "circuit") {
          const before = keys.map((k) => list.view(k, p.slowStartMs).availability);
          const probed = list.circuitProbe(keys, p.baseEjectionMs);
          if (probed !== undefined) {
            // only while the circuit is open, at most once per interval, never a target held by its check
            assert.ok(before.every((a) => a === "down"));
            assert.ok(c.now - lastCircuitProbe >= p.baseEjectionMs);
            assert.ok(!activeDown.has(probed));
            assert.equal(list.view(probed, p.slowStartMs).availability, "probe");
            lastCircuitProbe = c.now;
          }
        } else if (s.kind === "active") {
          list.setActive(s.key, s.healthy);
          if (s.healthy) activeDown.delete(s.key);
          else activeDown.add(s.key);
        } else {
          const before = list.view(s.key, p.slowStartMs).availability;
          const downBefore = keys.filter((k) => list.down(k)).length;
          const count = fiveXx;
          exchange(list, s.key, s.outcome, p, keys);
          const after = list.view(s.key, p.slowStartMs);
          // a connect failure always leaves the target down
          if (s.outcome === "connect_failure") assert.equal(after.availability, "down");
          // a 5xx ejection never takes the share past the cap
          if (fiveXx > count) assert.ok(downBefore - (before === "down" ? 1 : 0) < allowed);
          // an ok probe brings the target back (unless its active check says otherwise)
          if (before === "probe" && s.outcome === "ok" && !activeDown.has(s.key))
            assert.equal(after.availability, "up");
          if (after.availability === "down" && !activeDown.has(s.key)) ejectedAt.set(s.key, c.now);
        }
        for (const k of keys) {
          const v = list.view(k, p.slowStartMs);
          // outstanding never goes negative and nothing stays in flight between exchanges
          assert.equal(v.outstanding, 0);
          assert.ok(v.ramp >= 0.1 && v.ramp <= 1);
          if (activeDown.has(k)) assert.equal(v.availability, "down");
          // no ejection outlasts the cap
          const at = ejectedAt.get(k);
          if (at !== undefined && !activeDown.has(k) && c.now - at > p.maxEjectionMs)
            assert.notEqual(v.availability, "down");
        }
      }
    }),
  );
});

test("defaults", () => {
  assert.deepEqual(
    { ...DEFAULT_OUTLIER_POLICY },
    {
      consecutiveFailures: 5,
      baseEjectionMs: 5_000,
      maxEjectionMs: 60_000,
      maxEjectedPercent: 50,
      slowStartMs: 10_000,
    },
  );
});

test("an open circuit probes the target due back soonest once per interval, however long its ejection", () => {
  const c = clock();
  const list = new DownList(c.read);
  const long = { ...policy, baseEjectionMs: 1_000, maxEjectionMs: 60_000 };
  // ejections of 1, 2, 3 s, then 4 s: each failure once the time is up ejects for longer
  for (let round = 0; round < 4; round++) {
    if (round > 0) c.now += round * 1_000;
    for (const k of GROUP) list.markDown(k, long);
  }
  assert.equal(list.downCount(), 3);
  assert.equal(list.circuitProbe(GROUP, 1_000), undefined, "just ejected: not yet");
  c.now += 999;
  assert.equal(list.circuitProbe(GROUP, 1_000), undefined);
  c.now += 1;
  const first = list.circuitProbe(GROUP, 1_000);
  assert.ok(first !== undefined);
  assert.equal(list.view(first, 0).availability, "probe", "half-open now, long before its time");
  assert.equal(list.circuitProbe(GROUP, 1_000), undefined, "one per interval");
  list.begin(first);
  list.end(first, "connect_failure", long, GROUP);
  c.now += 1_000;
  const second = list.circuitProbe(GROUP, 1_000);
  assert.ok(second !== undefined && second !== first, "the next one due, not the one that just failed");
  list.begin(second);
  list.end(second, "ok", long, GROUP);
  assert.equal(list.view(second, 0).availability, "up");
  // a target out by its active check is never probed by the circuit
  const checked = new DownList(c.read);
  checked.setActive("a", false);
  c.now += 10_000;
  assert.equal(checked.circuitProbe(["a"], 1_000), undefined);
});

test("a circuit that is not open sends no probe: one target still up keeps the others' ejections", () => {
  const c = clock();
  const list = new DownList(c.read);
  const quick = { ...policy, consecutiveFailures: 1, baseEjectionMs: 100, maxEjectionMs: 2_000 };
  list.markDown("c", quick);
  c.now += 100;
  exchange(list, "c", "connect_failure", quick, ["a", "b", "c"]);
  c.now += 100;
  assert.equal(list.circuitProbe(["a", "b", "c"], 100), undefined, "a and b are up");
  assert.equal(list.view("c", 0).availability, "down");
  list.markDown("a", quick);
  list.markDown("b", quick);
  assert.equal(list.circuitProbe(["a", "b", "c"], 100), "c", "all down now: c, ejected an interval ago");
});
