/**
 * The `corral_` metrics the control plane and the data plane define, read from their sources,
 * and a check of a PromQL expression against them: the deploy tests hold the dashboard and the
 * alert rules to what the code exports.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./chart-tools.ts";

/** Labels Prometheus adds to every scraped series, and the histogram bucket label. */
export const TARGET_LABELS = ["namespace", "pod", "job", "instance", "service", "le"];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .map((f) => join(REPO_ROOT, dir, f));
}

/** The label names of the first string list among `args` (a metric's labelNames). */
function labelList(args: string): string[] {
  const lists = [...args.matchAll(/\[([^\]]*)\]/g)].map((l) => l[1]!);
  const labels = lists.find((l) => /^\s*"/.test(l)) ?? "";
  return [...labels.matchAll(/"([a-z_]+)"/g)].map((l) => l[1]!);
}

/** Metric name -> label names, from the definitions in control-plane/ and data-plane/. */
export function definedMetrics(): Map<string, string[]> {
  const metrics = new Map<string, string[]>();
  for (const file of [...sourceFiles("control-plane"), ...sourceFiles("data-plane")]) {
    const source = readFileSync(file, "utf8");
    // prom-client objects and BatchedCounter: { name: "corral_...", ..., labelNames: [...] }
    for (const m of source.matchAll(/name:\s*"(corral_[a-z0-9_]+)"([^}]*)\}/g)) {
      const labels = /labelNames:\s*\[([^\]]*)\]/.exec(m[2]!)?.[1] ?? "";
      metrics.set(
        m[1]!,
        [...labels.matchAll(/"([a-z_]+)"/g)].map((l) => l[1]!),
      );
    }
    for (const m of source.matchAll(/gauge\(\s*"(corral_[a-z0-9_]+)"/g)) metrics.set(m[1]!, []);
    // runtime/metric-makers.ts and local makers: counter|histogram("corral_...", help, ..., ["label", ...])
    for (const m of source.matchAll(/\b(?:counter|histogram)\(\s*"(corral_[a-z0-9_]+)"([^;]*)\);/g))
      metrics.set(m[1]!, labelList(m[2]!));
  }
  return metrics;
}

function baseName(series: string, metrics: Map<string, string[]>): string {
  if (metrics.has(series)) return series;
  return series.replace(/_(bucket|sum|count)$/, "");
}

/** The metrics an expression reads (histogram series by their metric's name). */
export function metricsOf(expr: string, metrics: Map<string, string[]>): string[] {
  return [...expr.matchAll(/\b(corral_[a-z0-9_]+)/g)].map((m) => baseName(m[1]!, metrics));
}

/** What is wrong with an expression: metrics the code does not define, labels they do not have. */
export function queryProblems(expr: string, metrics: Map<string, string[]>): string[] {
  const series = metricsOf(expr, metrics);
  if (series.length === 0) return ["no corral_ metric"];
  const problems: string[] = [];
  const allowed = new Set(TARGET_LABELS);
  for (const name of series) {
    if (!metrics.has(name)) problems.push(`${name} is not defined in the code`);
    for (const label of metrics.get(name) ?? []) allowed.add(label);
  }
  const grouped = [...expr.matchAll(/\b(?:by|without) \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(/,\s*/));
  const matched = [...expr.matchAll(/([a-z_]+)\s*(?:=~|!=|!~|=)\s*"/g)].map((m) => m[1]!);
  for (const label of [...grouped, ...matched])
    if (!allowed.has(label)) problems.push(`label ${label} is not one of ${[...allowed]}`);
  return problems;
}
