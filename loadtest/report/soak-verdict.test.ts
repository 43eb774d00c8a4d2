import assert from "node:assert/strict";
import { test } from "node:test";
import type { ProcessSample } from "../sampler/process-sampler.ts";
import { soakVerdict } from "./soak-verdict.ts";

const MB = 1024 * 1024;

/** One sample per second for `seconds` seconds; rss(t) and fds(t) give the values. */
function series(
  name: string,
  pid: number,
  seconds: number,
  rss: (t: number) => number,
  fds: (t: number) => number,
) {
  return Array.from(
    { length: seconds },
    (_, t): ProcessSample => ({ atEpochMs: t * 1000, name, pid, alive: true, rssBytes: rss(t), fds: fds(t) }),
  );
}

const options = { startEpochMs: 0, endEpochMs: 600_000, warmupSec: 60 };

test("flat memory and fds pass, whatever the warm-up did", () => {
  const samples = series(
    "dp-0",
    10,
    600,
    (t) => (t < 60 ? t * MB : 100 * MB + (t % 7) * 0.1 * MB),
    () => 40,
  );
  const verdict = soakVerdict(samples, options);
  assert.equal(verdict.verdict, "pass");
  assert.equal(verdict.checks.length, 2);
  assert.ok(verdict.checks.every((c) => !c.flagged));
});

test("RSS growing more than 5 % over the steady phase is flagged; 3 % is not", () => {
  const leaking = series(
    "dp-0",
    10,
    600,
    (t) => 100 * MB * (1 + 0.08 * ((t - 60) / 540)),
    () => 40,
  );
  const slight = series(
    "dp-1",
    11,
    600,
    (t) => 100 * MB * (1 + 0.03 * ((t - 60) / 540)),
    () => 40,
  );
  const verdict = soakVerdict([...leaking, ...slight], options);
  assert.equal(verdict.verdict, "memory-growth");
  const byName = Object.fromEntries(
    verdict.checks.filter((c) => c.metric === "rss").map((c) => [c.process, c]),
  );
  assert.equal(byName["dp-0"]!.flagged, true);
  assert.ok(byName["dp-0"]!.growthPct > 6 && byName["dp-0"]!.growthPct < 8);
  assert.equal(byName["dp-1"]!.flagged, false);
});

test("fd growth is flagged; a restarted process is judged per pid", () => {
  const fdLeak = series(
    "cp",
    20,
    600,
    () => 80 * MB,
    (t) => 30 + Math.floor(t / 20),
  );
  const before = series(
    "dp-2",
    30,
    300,
    () => 200 * MB,
    () => 40,
  );
  const after = series(
    "dp-2",
    31,
    600,
    () => 60 * MB,
    () => 40,
  ).slice(300);
  const verdict = soakVerdict([...fdLeak, ...before, ...after], options);
  assert.equal(verdict.verdict, "fd-growth");
  assert.equal(verdict.checks.find((c) => c.process === "cp" && c.metric === "fds")!.flagged, true);
  assert.equal(verdict.checks.filter((c) => c.process === "dp-2" && c.metric === "rss").length, 2);
  assert.equal(verdict.memoryGrowth, false, "a restart's drop is not growth");
});

test("too few steady samples is insufficient data, not a pass", () => {
  const verdict = soakVerdict(
    series(
      "dp-0",
      10,
      70,
      () => MB,
      () => 1,
    ),
    options,
  );
  assert.equal(verdict.verdict, "insufficient-data");
  assert.deepEqual(verdict.insufficient, ["dp-0 (pid 10): 10 samples"]);
});
