import assert from "node:assert/strict";
import { test } from "node:test";
import { type ProcessSample, SELF } from "../sampler/process-sampler.ts";
import { isGrowing, memoryLines, soakVerdict } from "./soak-verdict.ts";

const MB = 1024 * 1024;
const HOUR = 3600;

/** A seeded uniform [0, 1) source (LCG), so noisy series are the same every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** One sample per second for `seconds` seconds; `fill(t)` gives the values. */
function series(
  name: string,
  pid: number,
  seconds: number,
  fill: (t: number) => Partial<ProcessSample>,
): ProcessSample[] {
  return Array.from(
    { length: seconds },
    (_, t): ProcessSample => ({ atEpochMs: t * 1000, name, pid, alive: true, fds: 40, ...fill(t) }),
  );
}

const twoHours = { startEpochMs: 0, endEpochMs: 2 * HOUR * 1000, warmupSec: 600 };

/** GC sawtooth: the heap fills for 40 s and is collected, ±4 MB, plus ±1 MB noise. */
function sawtooth(seed: number) {
  const random = lcg(seed);
  return (t: number) => ((t % 40) / 40) * 8 * MB - 4 * MB + (random() - 0.5) * 2 * MB;
}

const byProcess = (v: ReturnType<typeof soakVerdict>) =>
  Object.fromEntries(v.memory.map((m) => [m.process, m]));

test("a flat process with GC sawtooth and noise passes, whatever the warm-up did", () => {
  const wobble = sawtooth(1);
  const samples = series("dp-0", 10, 2 * HOUR, (t) => ({
    rssBytes: t < 600 ? 50 * MB + t * 0.1 * MB : 110 * MB + wobble(t),
  }));
  const verdict = soakVerdict(samples, twoHours);
  assert.equal(verdict.verdict, "pass");
  const dp = byProcess(verdict)["dp-0"]!;
  assert.equal(dp.flagged, false);
  assert.equal(dp.judged, true);
  assert.ok(dp.lowPctPerHour < 1 && dp.highPctPerHour < 1, `[${dp.lowPctPerHour}, ${dp.highPctPerHour}]`);
  assert.ok(Math.abs(dp.slopePctPerHour) < 0.5, `slope ${dp.slopePctPerHour} %/h`);
  assert.ok(dp.effectiveSamples < dp.samples, "autocorrelated samples count for less");
  assert.equal(dp.samples, 2 * HOUR - 600);
});

test("a leak of 3 %/h is flagged with its slope; 0.3 %/h stays under the 1 %/h bound", () => {
  const leaking = series("dp-0", 10, 2 * HOUR, (t) => ({
    rssBytes: 100 * MB * (1 + (0.03 * t) / HOUR) + sawtooth(2)(t),
  }));
  const slight = series("dp-1", 11, 2 * HOUR, (t) => ({
    rssBytes: 100 * MB * (1 + (0.003 * t) / HOUR) + sawtooth(3)(t),
  }));
  const verdict = soakVerdict([...leaking, ...slight], twoHours);
  assert.equal(verdict.verdict, "memory-growth");
  assert.equal(verdict.memoryGrowth, true);
  const { "dp-0": leak, "dp-1": ok } = byProcess(verdict);
  assert.equal(leak!.flagged, true);
  // 3 MB/h on a mean of ~104 MB: ~2.9 %/h
  assert.ok(leak!.slopePctPerHour > 2.6 && leak!.slopePctPerHour < 3.1, `${leak!.slopePctPerHour}`);
  assert.ok(leak!.lowPctPerHour > 0 && leak!.lowPctPerHour < leak!.slopePctPerHour);
  assert.ok(Math.abs(leak!.rss.slopePerHour - 3 * MB) < 0.3 * MB, `${leak!.rss.slopePerHour / MB} MB/h`);
  assert.equal(ok!.flagged, false);
  assert.ok(ok!.highPctPerHour < 1, `under 1 %/h: [${ok!.lowPctPerHour}, ${ok!.highPctPerHour}]`);
});

/** ±0.25 MB of noise: the upstream fixture's RSS, flat between its steps. */
function jitter(seed: number) {
  const random = lcg(seed);
  return () => (random() - 0.5) * 0.5 * MB;
}

test("flat series with steps pass: a step happens once, in one half of the steady phase", () => {
  const steady = 2 * HOUR - 600;
  const at = (share: number) => 600 + share * steady;
  const noise = jitter(9);
  // the upstream fixture of the 2-hour soak: 96 MB, one step of 1.6 MB that stays
  const fixture = series("upstream", 20, 2 * HOUR, (t) => ({
    rssBytes: 96 * MB + noise() + (t > at(0.4) ? 1.6 * MB : 0),
  }));
  // a node whose malloc arena grew by 16 MB once, under the GC's sawtooth
  const arena = series("dp-0", 21, 2 * HOUR, (t) => ({
    rssBytes: 280 * MB + sawtooth(10)(t) + (t > at(0.45) ? 16 * MB : 0),
  }));
  // a node whose young generation grew and shrank twice
  const young = series("dp-1", 22, 2 * HOUR, (t) => ({
    rssBytes: 280 * MB + sawtooth(11)(t) + ((t > at(0.2) && t < at(0.5)) || t > at(0.8) ? 16 * MB : 0),
  }));
  const verdict = soakVerdict([...fixture, ...arena, ...young], twoHours);
  assert.equal(verdict.verdict, "pass", memoryLines(verdict).join("\n"));
  // over the whole phase the fixture's single step reads as growth; the half without it is flat
  for (const m of [byProcess(verdict).upstream!]) {
    assert.ok(
      m.lowPctPerHour > 0 && m.highPctPerHour >= 1,
      `${m.process} whole: [${m.lowPctPerHour}, ${m.highPctPerHour}]`,
    );
    assert.ok(
      m.halves.some((h) => h.lowPctPerHour <= 0 || h.highPctPerHour < 1),
      `${m.process} has a flat half: ${JSON.stringify(m.halves)}`,
    );
  }
  assert.match(memoryLines(verdict)[0]!, /— flat; halves [+−]\d+\.\d\d \[.*\] \/ [+−]\d+\.\d\d \[.*\] %\/h$/);
});

test("a leak of 3 %/h fails in any shape: a line, a staircase of 10-minute steps, a line with a step", () => {
  const line = series("dp-0", 30, 2 * HOUR, (t) => ({
    rssBytes: 280 * MB * (1 + (0.03 * t) / HOUR) + sawtooth(12)(t),
  }));
  const staircase = series("dp-1", 31, 2 * HOUR, (t) => ({
    rssBytes: 100 * MB * (1 + 0.005 * Math.floor(t / 600)) + sawtooth(13)(t),
  }));
  const stepped = series("dp-2", 32, 2 * HOUR, (t) => ({
    rssBytes: 100 * MB * (1 + (0.03 * t) / HOUR) + sawtooth(14)(t) + (t > HOUR ? 5 * MB : 0),
  }));
  const verdict = soakVerdict([...line, ...staircase, ...stepped], twoHours);
  assert.equal(verdict.verdict, "memory-growth");
  for (const m of verdict.memory) {
    assert.equal(m.flagged, true, `${m.process}: ${memoryLines(verdict).join("\n")}`);
    for (const h of m.halves)
      assert.ok(h.lowPctPerHour > 0 && h.highPctPerHour >= 1, `${m.process}: ${JSON.stringify(h)}`);
  }
  const { "dp-0": dp0, "dp-1": dp1 } = byProcess(verdict);
  assert.ok(Math.abs(dp0!.slopePctPerHour - 2.9) < 0.2, `line: ${dp0!.slopePctPerHour} %/h`);
  assert.ok(Math.abs(dp1!.slopePctPerHour - 2.9) < 0.3, `staircase: ${dp1!.slopePctPerHour} %/h`);
});

test("the growth judgement: interval above 0 and reaching the limit", () => {
  assert.equal(isGrowing(-0.2, 3, 1), false, "includes 0");
  assert.equal(isGrowing(0.1, 0.9, 1), false, "below the limit");
  assert.equal(isGrowing(0.5, 1, 1), true);
  assert.equal(isGrowing(-3, -1, 1), false, "shrinking");
});

test("the memoryUsage() parts get their own slopes: array buffers growing under a flat heap", () => {
  const samples = series("dp-2", 12, 2 * HOUR, (t) => ({
    rssBytes: 120 * MB + (8 * MB * t) / HOUR + sawtooth(4)(t),
    heapUsedBytes: 40 * MB + sawtooth(5)(t),
    externalBytes: 20 * MB + (8 * MB * t) / HOUR,
    arrayBuffersBytes: 16 * MB + (8 * MB * t) / HOUR,
  }));
  const dp = byProcess(soakVerdict(samples, twoHours))["dp-2"]!;
  assert.equal(dp.flagged, true);
  const { heapUsed, external, arrayBuffers, heapTotal } = dp.components;
  assert.ok(Math.abs(arrayBuffers!.slopePerHour - 8 * MB) < 1e-3 * MB, `${arrayBuffers!.slopePerHour / MB}`);
  assert.ok(Math.abs(external!.slopePerHour - 8 * MB) < 1e-3 * MB);
  assert.ok(heapUsed!.lowPerHour < 0 && heapUsed!.highPerHour > 0, "the heap is flat");
  assert.equal(heapTotal, undefined, "a series the process does not expose is absent");
});

test("the generator's expected growth is fitted and shown, not judged", () => {
  const generator = series(SELF, 1, 2 * HOUR, (t) => ({ rssBytes: 200 * MB * (1 + (0.2 * t) / HOUR) }));
  const dp = series("dp-0", 10, 2 * HOUR, (t) => ({ rssBytes: 100 * MB + sawtooth(6)(t) }));
  const verdict = soakVerdict([...generator, ...dp], twoHours);
  assert.equal(verdict.verdict, "pass");
  const gen = byProcess(verdict)[SELF]!;
  assert.equal(gen.judged, false);
  assert.equal(gen.flagged, false);
  assert.match(gen.note!, /expected growth/);
  assert.ok(gen.slopePctPerHour > 10, `${gen.slopePctPerHour}`);
  const lines = memoryLines(verdict);
  assert.match(
    lines.find((l) => l.includes(SELF))!,
    /RSS \+1\d\.\d\d \[\+1\d\.\d\d, \+1\d\.\d\d\] %\/h .* not judged/,
  );
  assert.match(
    lines.find((l) => l.includes("dp-0"))!,
    /dp-0 \(pid 10\): RSS [+−]0\.\d\d \[−\d+\.\d\d, \+\d+\.\d\d\] %\/h of (99|100) MiB over 6599 s — flat/,
  );
  // only the generator: nothing judged
  assert.equal(soakVerdict(generator, twoHours).verdict, "insufficient-data");
  // the same growth in a platform process is a leak
  assert.equal(soakVerdict(generator, { ...twoHours, expectedGrowth: [] }).verdict, "memory-growth");
});

test("fd growth is flagged; a restarted process is judged per pid", () => {
  // one fd every 20 s (180/h) is a leak; a pool's burst of 30 that closes again is not
  const fdLeak = series("cp", 20, 600, (t) => ({ rssBytes: 80 * MB, fds: 30 + Math.floor(t / 20) }));
  const burst = series("upstream", 21, 600, (t) => ({
    rssBytes: 80 * MB,
    fds: t > 200 && t < 350 ? 70 : 40,
  }));
  const before = series("dp-2", 30, 300, () => ({ rssBytes: 200 * MB }));
  const after = series("dp-2", 31, 600, () => ({ rssBytes: 60 * MB })).slice(300);
  const verdict = soakVerdict([...fdLeak, ...burst, ...before, ...after], {
    ...twoHours,
    endEpochMs: 600_000,
    warmupSec: 60,
  });
  assert.equal(verdict.verdict, "fd-growth");
  const cp = verdict.fds.find((c) => c.process === "cp")!;
  assert.equal(cp.flagged, true);
  assert.ok(Math.abs(cp.fds.slopePerHour - 180) < 5, `${cp.fds.slopePerHour} fds/h`);
  assert.equal(verdict.fds.find((c) => c.process === "upstream")!.flagged, false);
  assert.equal(verdict.memory.filter((m) => m.process === "dp-2").length, 2);
  assert.equal(verdict.memoryGrowth, false, "a restart's drop is not growth");
});

test("too few steady samples is insufficient data, not a pass", () => {
  const verdict = soakVerdict(
    series("dp-0", 10, 70, () => ({ rssBytes: MB, fds: 1 })),
    { startEpochMs: 0, endEpochMs: 600_000, warmupSec: 60 },
  );
  assert.equal(verdict.verdict, "insufficient-data");
  assert.deepEqual(verdict.insufficient, ["dp-0 (pid 10): 10 samples"]);
});

test("the live heap gets its slope and its line: flat under a heap total that follows the GC", () => {
  const samples = series("dp-1", 11, 2 * HOUR, (t) => ({
    rssBytes: 200 * MB + (20 * MB * t) / HOUR + sawtooth(8)(t),
    heapTotalBytes: 60 * MB + (30 * MB * t) / HOUR,
    heapLiveBytes: 25 * MB + sawtooth(1)(t),
  }));
  const verdict = soakVerdict(samples, twoHours);
  const { heapLive, heapTotal } = byProcess(verdict)["dp-1"]!.components;
  assert.ok(heapLive!.lowPerHour < 0 && heapLive!.highPerHour > 0, "the live heap is flat");
  assert.ok(heapTotal!.lowPerHour > 20 * MB, "heap total grows");
  assert.match(memoryLines(verdict)[0]!, /; live heap [+−]0\.\d\d \[−\d+\.\d\d, \+\d+\.\d\d\] MiB\/h$/);
});
