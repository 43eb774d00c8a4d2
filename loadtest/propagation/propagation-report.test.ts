import assert from "node:assert/strict";
import { test } from "node:test";
import type { ApplyFigures } from "./apply-bench.ts";
import type { CompileFigures } from "./compile-size.ts";
import type { RoundResult } from "./propagation-round.ts";
import {
  applyMetrics,
  applyTable,
  compileMetrics,
  compileTable,
  roundsMetrics,
  roundsTable,
  rssMetrics,
} from "./propagation-report.ts";

const spreadOf = (p50: number, p99: number, max: number) => ({ p50, p99, max });

function roundOf(n: number, ackMs: number[]): RoundResult {
  return {
    round: n,
    version: 10 + n,
    publishedMs: 100 * n,
    announce: spreadOf(110, 120, 130),
    ack: spreadOf(ackMs[0]!, ackMs.at(-1)!, ackMs.at(-1)!),
    ackMs,
    checkMsMedian: 5,
    cpCompileMs: 40,
    cpPublishMs: 60,
    cpPhasesMs: { compile: 40 },
    published: [{ version: 10 + n, source: "change" }],
  };
}

const timing = { wallMs: 10, cpuMs: 5 };
const compile: CompileFigures = {
  tenants: 100_000,
  slots: 1000,
  compileCold: timing,
  compileWarm: timing,
  compress: timing,
  frameAndSign: timing,
  payloadBytes: 9_000_000,
  usedBytes: 9_000_144,
  capacityBytes: 8 * 1024 * 1024,
  fits: false,
  capacityNeededBytes: 9 * 1024 * 1024,
};
const run = {
  applyMs: 3000,
  wallMs: 3010,
  longestStallWallMs: 40,
  longestStallCpuMs: 4,
  loopDelayMaxMs: 41,
  loopDelayP99Ms: 6,
};
const apply: ApplyFigures = {
  tenants: 100_000,
  perTenant: 1,
  payloadBytes: 5_000_000,
  blobBytes: 6 * 1024 * 1024,
  first: run,
  same: { ...run, applyMs: 200 },
  command: "node --expose-gc data-plane/bench/apply-100k.ts 100000 1",
};

test("every table row has one cell per column", () => {
  const tables = [
    roundsTable([roundOf(1, [1, 2]), roundOf(2, [3, 4])], 2),
    compileTable([compile]),
    applyTable(apply),
  ];
  for (const t of tables) for (const row of t.rows) assert.equal(row.length, t.columns.length, t.title);
});

test("propagation percentiles are over every node of every round", () => {
  const ackMs = Array.from({ length: 100 }, (_, i) => i + 1);
  const m = roundsMetrics([
    roundOf(1, ackMs),
    roundOf(
      2,
      ackMs.map((v) => v + 1000),
    ),
  ]);
  assert.equal(m["propagation.p50_ms"], 100);
  assert.equal(m["propagation.p99_ms"], 1098); // rank ceil(0.99 x 200) = 198
  assert.equal(m["propagation.max_ms"], 1100);
  assert.equal(m["propagation.rounds"], 2);
  assert.equal(m["propagation.published_median_ms"], 100);
});

test("compile, apply and RSS metrics", () => {
  assert.equal(compileMetrics([compile])["compile.100000.fits"], 0);
  assert.equal(compileMetrics([compile])["compile.100000.capacity_needed_bytes"], 9 * 1024 * 1024);
  assert.equal(applyMetrics(apply)["dp.apply.100000.stall_cpu_ms"], 4);
  const rss = rssMetrics(
    { idle: 100 * 1024 * 1024, connected: 200 * 1024 * 1024, after: 201 * 1024 * 1024 },
    1000,
  );
  assert.equal(rss["cp.rss_per_connection_kb"], 102.4);
});
