/**
 * deploy/dashboards/corral.json against the code: every metric a query uses is one the
 * control plane or the data plane defines, every label it groups or filters by is one of
 * that metric's labels (or a scrape target label), and the panels fit the Grafana grid.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { REPO_ROOT, readRepoFile } from "./chart-tools.ts";

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { expr: string }[];
}

const dashboard = JSON.parse(readRepoFile("deploy/dashboards/corral.json")) as {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string }[] };
};
const exprs = dashboard.panels.flatMap((p) =>
  (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })),
);
/** Labels Prometheus adds to every scraped series, and the histogram bucket label. */
const TARGET_LABELS = ["namespace", "pod", "job", "instance", "service", "le"];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .map((f) => join(REPO_ROOT, dir, f));
}

/** Metric name -> label names, from `name: "corral_..."` definitions in the code. */
function definedMetrics(): Map<string, string[]> {
  const metrics = new Map<string, string[]>();
  const gaugeHelper = /gauge\(\s*"(corral_[a-z0-9_]+)"/g;
  for (const file of [...sourceFiles("control-plane"), ...sourceFiles("data-plane")]) {
    const source = readFileSync(file, "utf8");
    for (const m of source.matchAll(/name:\s*"(corral_[a-z0-9_]+)"([^}]*)\}/g)) {
      const labels = /labelNames:\s*\[([^\]]*)\]/.exec(m[2])?.[1] ?? "";
      metrics.set(
        m[1],
        [...labels.matchAll(/"([a-z_]+)"/g)].map((l) => l[1]),
      );
    }
    for (const m of source.matchAll(gaugeHelper)) metrics.set(m[1], []);
    // runtime/metric-makers.ts: counter|histogram("corral_...", help, ..., ["label", ...])
    for (const m of source.matchAll(/\.(?:counter|histogram)\(\s*"(corral_[a-z0-9_]+)"([^;]*)\);/g)) {
      const lists = [...m[2]!.matchAll(/\[([^\]]*)\]/g)].map((l) => l[1]!);
      const labels = lists.find((l) => /^\s*"/.test(l)) ?? "";
      metrics.set(
        m[1]!,
        [...labels.matchAll(/"([a-z_]+)"/g)].map((l) => l[1]!),
      );
    }
  }
  return metrics;
}

function baseName(series: string, metrics: Map<string, string[]>): string {
  if (metrics.has(series)) return series;
  return series.replace(/_(bucket|sum|count)$/, "");
}

describe("Grafana dashboard", () => {
  const metrics = definedMetrics();

  test("the code defines the metrics the dashboard is about", () => {
    for (const name of [
      "corral_dp_requests_total",
      "corral_dp_config_version",
      "corral_dp_config_age_seconds",
      "corral_config_propagation_seconds",
      "corral_snapshot_usage_ratio",
    ]) {
      assert.ok(metrics.has(name), `${name} is defined in control-plane/ or data-plane/`);
      assert.ok(
        exprs.some((e) => e.expr.includes(name)),
        `a panel shows ${name}`,
      );
    }
    assert.deepEqual(metrics.get("corral_dp_requests_total"), ["reason", "status_class"]);
  });

  test("every query uses defined metrics and only their labels", () => {
    assert.ok(exprs.length >= 20);
    for (const { panel, expr } of exprs) {
      const series = [...expr.matchAll(/\b(corral_[a-z0-9_]+)/g)].map((m) => baseName(m[1], metrics));
      assert.ok(series.length > 0, `${panel}: no corral_ metric`);
      const allowed = new Set(TARGET_LABELS);
      for (const name of series) {
        assert.ok(metrics.has(name), `${panel}: ${name} is not defined in the code`);
        for (const label of metrics.get(name)!) allowed.add(label);
      }
      const grouped = [...expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((m) => m[1].split(/,\s*/));
      const matched = [...expr.matchAll(/([a-z_]+)\s*(?:=~|!=|!~|=)\s*"/g)].map((m) => m[1]);
      for (const label of [...grouped, ...matched]) {
        assert.ok(allowed.has(label), `${panel}: label ${label} is not one of ${[...allowed]}`);
      }
    }
  });

  test("panels have unique ids and fit the 24-column grid without overlapping", () => {
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    const cells = new Set<string>();
    for (const { title, gridPos: g } of dashboard.panels) {
      assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24, `${title} fits the width`);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          assert.ok(!cells.has(`${x},${y}`), `${title} overlaps another panel at ${x},${y}`);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  test("queries go through the datasource and namespace variables", () => {
    assert.deepEqual(
      dashboard.templating.list.map((v) => v.name),
      ["datasource", "namespace"],
    );
    for (const { panel, expr } of exprs) {
      assert.match(expr, /namespace=~"\$namespace"/, `${panel} is filtered by namespace`);
    }
  });
});
