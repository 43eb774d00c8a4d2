import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type FixedLatencyServer, startFixedLatencyServer } from "../bench/fixed-latency-server.ts";
import type { Report } from "../report/model.ts";
import { runScenario } from "./run-scenario.ts";
import { defineScenario } from "./types.ts";

let upstream: FixedLatencyServer;
let dir: string;
before(async () => {
  upstream = await startFixedLatencyServer({ delayMs: 2 });
  dir = await mkdtemp(join(tmpdir(), "corral-scenario-"));
});
after(async () => {
  await upstream.close();
  await rm(dir, { recursive: true, force: true });
});

test("a run feeds the report, checks thresholds and always cleans up", async () => {
  const cleaned: string[] = [];
  const scenario = defineScenario({
    name: "unit-run",
    description: "runner test",
    params: { rate: 50 },
    thresholds: [
      { metric: "main.error_rate", description: "no errors", max: 0 },
      { metric: "main.ok_rps", description: "rate held", min: (p) => p.rate * 0.9 },
      { metric: "custom", description: "impossible on purpose", min: 2 },
    ],
    async run(ctx) {
      ctx.onCleanup(() => cleaned.push("first"));
      ctx.onCleanup(() => cleaned.push("second"));
      ctx.recordConfigVersion("dp-0", 3);
      ctx.chart("Admission", "per s").point("quota", 4);
      ctx.timeline.mark("poke", "signal");
      ctx.addTable({ title: "t", columns: ["a"], rows: [[1]] });
      ctx.judgeSoak({ warmupSec: 0 });
      await ctx.runLoad("main", {
        tenants: [{ tenant: "a", rate: ctx.params.rate, target: { kind: "http", url: upstream.url } }],
        durationSec: 1,
      });
      return { metrics: { custom: 1 } };
    },
  });
  const outcome = await runScenario(scenario, { rate: 50 }, { reportDir: dir });
  const { report } = outcome;
  assert.deepEqual(cleaned, ["second", "first"], "cleanups run in reverse order");
  assert.equal(report.pass, false);
  assert.deepEqual(
    report.thresholds.map((t) => [t.metric, t.pass]),
    [
      ["main.error_rate", true],
      ["main.ok_rps", true],
      ["custom", false],
    ],
  );
  assert.equal(report.metrics["main.error_rate"], 0);
  assert.equal(report.metrics["soak.memory_growth"], 0);
  assert.equal(report.loads[0]!.result.totals.scheduled, 50);
  assert.deepEqual(
    report.configVersions.map((c) => [c.node, c.version]),
    [["dp-0", 3]],
  );
  assert.equal(report.charts[0]!.series[0]!.points[0]![1], 4);
  assert.equal(report.faults[0]!.label, "poke");
  assert.ok(
    report.processes.some((s) => s.name === "generator"),
    "the generator is sampled",
  );
  const written = JSON.parse(await readFile(outcome.jsonPath, "utf8")) as Report;
  assert.equal(written.pass, false);
  assert.match(await readFile(outcome.htmlPath, "utf8"), /unit-run/);
});

test("a run that throws is reported as failed, after its cleanups", async () => {
  let cleaned = false;
  const scenario = defineScenario({
    name: "unit-throw",
    description: "throws",
    params: {},
    thresholds: [],
    async run(ctx) {
      ctx.onCleanup(() => {
        cleaned = true;
      });
      throw new Error("platform did not start");
    },
  });
  const { report } = await runScenario(scenario, {}, { reportDir: dir });
  assert.equal(cleaned, true);
  assert.equal(report.pass, false);
  assert.match(report.error!, /platform did not start/);
});
