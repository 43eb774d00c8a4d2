/**
 * deploy/alerts/corral-alerts.yaml against the code: every expression reads metrics the
 * control plane or the data plane defines, with their labels only; every annotation names
 * labels the expression keeps; the alerts operators asked for are there.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { readRepoFile, toDocuments } from "./chart-tools.ts";
import { definedMetrics, metricsOf, queryProblems } from "./metric-names.ts";

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
}

const SEVERITIES = ["info", "warning", "critical"];

describe("Prometheus alert rules", () => {
  const metrics = definedMetrics();
  const docs = toDocuments(readRepoFile("deploy/alerts/corral-alerts.yaml"));
  const groups = docs[0]!.groups as { name: string; rules: Rule[] }[];
  const rules = groups.flatMap((g) => g.rules);

  test("one rule file of named groups, every rule named once, with severity and texts", () => {
    assert.equal(docs.length, 1);
    assert.ok(rules.length >= 5);
    assert.equal(new Set(rules.map((r) => r.alert)).size, rules.length, "alert names are unique");
    for (const r of rules) {
      assert.match(r.alert, /^Corral[A-Z][A-Za-z]+$/);
      assert.deepEqual(
        Object.keys(r).sort(),
        ["alert", "annotations", "expr", "labels", ...(r.for ? ["for"] : [])].sort(),
      );
      assert.ok(SEVERITIES.includes(r.labels.severity), `${r.alert}: severity ${r.labels.severity}`);
      assert.ok(r.annotations.summary && r.annotations.description, `${r.alert} explains itself`);
      if (r.for) assert.match(r.for, /^\d+[smh]$/);
    }
  });

  test("every expression uses defined metrics and only their labels, grouped by namespace", () => {
    for (const r of rules) {
      assert.deepEqual(queryProblems(r.expr, metrics), [], `${r.alert}: ${r.expr}`);
      assert.match(r.expr, /\bby \((namespace)[,)]/, `${r.alert} keeps the namespace`);
    }
  });

  test("annotations name only labels the expression keeps", () => {
    for (const r of rules) {
      const kept = new Set([...r.expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(/,\s*/)));
      const text = `${r.annotations.summary} ${r.annotations.description}`;
      for (const m of text.matchAll(/\$labels\.([a-z_]+)/g))
        assert.ok(kept.has(m[1]!), `${r.alert}: $labels.${m[1]} is not kept by ${r.expr}`);
    }
  });

  test("operators are told when retry budgets run out, circuits open and quota counting loses Redis", () => {
    const alerting = (metric: string, matcher = "") =>
      rules.filter((r) => metricsOf(r.expr, metrics).includes(metric) && r.expr.includes(matcher));
    assert.equal(alerting("corral_dp_retry_budget_exhausted_total").length, 1);
    assert.equal(alerting("corral_dp_requests_total", 'reason="circuit_open"').length, 1);
    assert.equal(alerting("corral_dp_upstream_ejections_total").length, 1);
    assert.equal(alerting("corral_dp_quota_sync_errors_total").length, 1);
  });
});
