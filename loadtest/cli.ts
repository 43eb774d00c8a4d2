/**
 * The load harness's command line (`npm run loadtest -- <scenario> [--param=value …]`).
 *   no arguments           list the scenarios
 *   <scenario> --help      its parameters and thresholds
 *   <scenario> [--p=v …]   run it; --report-dir=<dir> (default loadtest/reports)
 * Exit status: 0 every threshold met, 1 a threshold missed or the run failed, 2 usage.
 */
import { fileURLToPath } from "node:url";
import { LoadtestError } from "./errors.ts";
import { formatNumber } from "./report/svg-chart.ts";
import { errorKinds } from "./report/error-kinds.ts";
import { memoryLines } from "./report/soak-verdict.ts";
import { applyOverrides, parseArgs } from "./scenario/params.ts";
import { listScenarioNames, loadScenario } from "./scenario/registry.ts";
import { type RunOutcome, runScenario } from "./scenario/run-scenario.ts";
import type { Params, Scenario } from "./scenario/types.ts";

const DEFAULT_REPORT_DIR = fileURLToPath(new URL("./reports/", import.meta.url));
const out = (line = "") => process.stdout.write(`${line}\n`);

async function listScenarios(): Promise<void> {
  out("scenarios (npm run loadtest -- <name> [--param=value …]):");
  for (const name of await listScenarioNames()) {
    const scenario = await loadScenario(name);
    out(`  ${name.padEnd(16)} ${scenario.description}`);
  }
}

function describe(scenario: Scenario<Params>): void {
  out(`${scenario.name}: ${scenario.description}`);
  out("parameters:");
  for (const [k, v] of Object.entries(scenario.params)) out(`  --${k}=${v}`);
  out("thresholds:");
  for (const t of scenario.thresholds) {
    const limit = (b: number | ((p: Params) => number) | undefined) =>
      typeof b === "function" ? b(scenario.params) : b;
    const bounds = [
      t.max !== undefined ? `<= ${limit(t.max)}` : "",
      t.min !== undefined ? `>= ${limit(t.min)}` : "",
    ];
    out(`  ${t.metric} ${bounds.filter(Boolean).join(" and ")}  (${t.description})`);
  }
}

function summarize({ report, jsonPath, htmlPath }: RunOutcome): void {
  out();
  for (const { label, result } of report.loads) {
    const t = result.totals;
    out(
      `load ${label}: offered ${formatNumber(result.offeredRps)} rps, sent ${formatNumber(t.sentRps)} rps, ` +
        `ok ${t.ok}, errors ${t.errors}${t.errors > 0 ? ` (${errorKinds(t.outcomes)})` : ""}; p50 ${t.latency.p50Ms} ms, p99 ${t.latency.p99Ms} ms, ` +
        `p99.9 ${t.latency.p999Ms} ms, max ${t.latency.maxMs} ms`,
    );
  }
  if (report.soak) {
    out(`soak verdict: ${report.soak.verdict}`);
    for (const line of memoryLines(report.soak)) out(line);
  }
  for (const t of report.thresholds)
    out(
      `${t.pass ? "pass" : "MISS"}  ${t.metric} = ${t.value === null ? "missing" : formatNumber(t.value)} (${t.op} ${formatNumber(t.limit)})`,
    );
  if (report.error) out(`run failed: ${report.error}`);
  out(`${report.pass ? "PASS" : "FAIL"} ${report.scenario} in ${report.durationSec.toFixed(1)} s`);
  out(`report: ${htmlPath}`);
  out(`        ${jsonPath}`);
}

async function main(argv: string[]): Promise<number> {
  const { positional, options } = parseArgs(argv);
  if (positional.length === 0) {
    await listScenarios();
    return 0;
  }
  const scenario = await loadScenario(positional[0]!);
  const { help, "report-dir": reportDir, ...overrides } = options;
  if (help) {
    describe(scenario);
    return 0;
  }
  const params = applyOverrides(scenario.params, overrides);
  const abort = new AbortController();
  process.once("SIGINT", () => {
    out("interrupted: stopping the load and cleaning up (Ctrl-C again to exit at once)");
    abort.abort();
    process.once("SIGINT", () => process.exit(130));
  });
  const outcome = await runScenario(scenario, params, {
    reportDir: typeof reportDir === "string" ? reportDir : DEFAULT_REPORT_DIR,
    signal: abort.signal,
    log: (m) => out(`[${scenario.name}] ${m}`),
  });
  summarize(outcome);
  return outcome.report.pass ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`${err instanceof LoadtestError ? err.message : (err.stack ?? err.message)}\n`);
    process.exitCode = err instanceof LoadtestError ? 2 : 1;
  },
);
