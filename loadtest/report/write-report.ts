import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { renderHtml } from "./html-report.ts";
import type { Report } from "./model.ts";

/** Writes <dir>/<scenario>-<timestamp>.json and .html; returns both paths. */
export async function writeReport(
  report: Report,
  dir: string,
): Promise<{ jsonPath: string; htmlPath: string }> {
  await mkdir(dir, { recursive: true });
  const stamp = new Date(report.startEpochMs).toISOString().replace(/[:.]/g, "-");
  const base = join(dir, `${report.scenario}-${stamp}`);
  const jsonPath = `${base}.json`;
  const htmlPath = `${base}.html`;
  await writeFile(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(htmlPath, renderHtml(report));
  return { jsonPath, htmlPath };
}
