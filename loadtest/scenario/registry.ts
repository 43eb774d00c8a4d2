import { readdir } from "node:fs/promises";
import { LoadtestError } from "../errors.ts";
import type { Params, Scenario } from "./types.ts";

/**
 * Scenarios are discovered, not registered: every loadtest/scenarios/<name>.ts (not
 * *.test.ts) whose default export is a scenario named <name>. Adding a scenario is
 * adding a file.
 */
export const SCENARIO_DIR = new URL("../scenarios/", import.meta.url);
const NAME = /^[a-z0-9][a-z0-9-]*$/;

export async function listScenarioNames(dir: URL = SCENARIO_DIR): Promise<string[]> {
  const files = await readdir(dir);
  return files
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .map((f) => f.slice(0, -3))
    .filter((n) => NAME.test(n))
    .sort();
}

export async function loadScenario(name: string, dir: URL = SCENARIO_DIR): Promise<Scenario<Params>> {
  const names = await listScenarioNames(dir);
  if (!names.includes(name))
    throw new LoadtestError("CORRAL_LOADTEST_UNKNOWN_SCENARIO", `${name}; available: ${names.join(", ")}`);
  const module = (await import(new URL(`${name}.ts`, dir).href)) as { default?: Scenario<Params> };
  const scenario = module.default;
  const valid =
    scenario !== undefined &&
    scenario.name === name &&
    typeof scenario.description === "string" &&
    typeof scenario.params === "object" &&
    Array.isArray(scenario.thresholds) &&
    typeof scenario.run === "function";
  if (!valid)
    throw new LoadtestError(
      "CORRAL_LOADTEST_BAD_SCENARIO",
      `${name}.ts must \`export default defineScenario({ name: "${name}", description, params, thresholds, run })\``,
    );
  return scenario;
}
