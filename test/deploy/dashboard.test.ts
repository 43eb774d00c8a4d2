/**
 * deploy/dashboards/corral.json against the code: every metric a query uses is one the
 * control plane or the data plane defines, every label it groups or filters by is one of
 * that metric's labels (or a scrape target label), and the panels fit the Grafana grid.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { readRepoFile } from "./chart-tools.ts";
import { definedMetrics, metricsOf, queryProblems } from "./metric-names.ts";

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
    for (const { panel, expr } of exprs)
      assert.deepEqual(queryProblems(expr, metrics), [], `${panel}: ${expr}`);
  });

  test("the check catches an unknown metric, an unknown label and a query without a corral_ metric", () => {
    assert.deepEqual(queryProblems('sum by (reason) (rate(corral_dp_requests_total{x="1"}[5m]))', metrics), [
      `label x is not one of ${["namespace", "pod", "job", "instance", "service", "le", "reason", "status_class"]}`,
    ]);
    assert.match(queryProblems("rate(corral_dp_no_such_total[5m])", metrics)[0]!, /not defined/);
    assert.deepEqual(queryProblems("up", metrics), ["no corral_ metric"]);
  });

  test("the metrics of quotas, metering, retries, circuits, idempotency, WebSockets and connection caps have panels", () => {
    const shown = new Set(exprs.flatMap((e) => metricsOf(e.expr, metrics)));
    for (const name of [
      "corral_dp_quota_sync_total",
      "corral_dp_quota_sync_errors_total",
      "corral_dp_usage_pending",
      "corral_dp_usage_dropped_total",
      "corral_usage_entries_total",
      "corral_dp_upstream_retries_total",
      "corral_dp_upstream_attempts_total",
      "corral_dp_retry_budget_exhausted_total",
      "corral_dp_upstream_ejected_targets",
      "corral_dp_upstream_ejections_total",
      "corral_dp_health_checks_total",
      "corral_dp_idempotency_total",
      "corral_dp_websockets_open",
      "corral_dp_websocket_messages_total",
      "corral_dp_websocket_bytes_total",
      "corral_dp_websocket_closes_total",
      "corral_dp_client_connections_refused_total",
      "corral_dp_client_connections_busiest_source",
    ]) {
      assert.ok(metrics.has(name), `${name} is defined in the code`);
      assert.ok(shown.has(name), `a panel shows ${name}`);
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
