import assert from "node:assert/strict";
import { test } from "node:test";
import type { SeriesPoint } from "../generator/merge.ts";
import { errorKinds, errorSeconds, errorSecondsTable } from "./error-kinds.ts";

const point = (second: number, outcomes: Record<string, number>): SeriesPoint => {
  const ok = outcomes.ok ?? 0;
  const errors = Object.values(outcomes).reduce((a, b) => a + b, 0) - ok;
  return { second, scheduled: ok + errors, ok, errors, outcomes, p50Ms: 1, p99Ms: 2, p999Ms: 3, maxMs: 4 };
};

test("error kinds are named, largest first, without ok", () => {
  assert.equal(
    errorKinds({ ok: 100, shed: 22, econnreset: 1, timeout: 1 }),
    "shed 22, econnreset 1, timeout 1",
  );
  assert.equal(errorKinds({ ok: 5 }), "");
  assert.equal(errorKinds({}), "");
});

test("seconds with errors carry their kinds and their distance from the last config change", () => {
  const start = 1_000_000;
  const series = [
    point(0, { ok: 100, timeout: 1 }),
    point(1, { ok: 100 }),
    point(5, { ok: 90, shed: 9, http_502: 1 }),
    point(9, { ok: 99, econnreset: 1 }),
  ];
  // changes at +0.5 s and +8.7 s (out of order), and one long after the run
  const rows = errorSeconds(series, start, [start + 8_700, start + 500, start + 99_000]);
  assert.deepEqual(rows, [
    { second: 0, errors: 1, kinds: "timeout 1", sinceChangeMs: -500 },
    { second: 5, errors: 10, kinds: "shed 9, http_502 1", sinceChangeMs: 4_500 },
    { second: 9, errors: 1, kinds: "econnreset 1", sinceChangeMs: 300 },
  ]);
  assert.equal(errorSeconds(series, start, [])[0]!.sinceChangeMs, undefined, "no change yet");
  assert.equal(errorSeconds(series, start, [], 2).length, 2, "bounded");
  const table = errorSecondsTable("main", errorSeconds(series, start, []));
  assert.deepEqual(table.rows[0], [0, 1, "timeout 1", "none yet"]);
});
