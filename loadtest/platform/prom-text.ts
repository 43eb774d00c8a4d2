/**
 * Just enough of the Prometheus text format to read counters off a node's /metrics:
 * samples with their labels, and sums of one metric grouped by one label. Pure.
 */
export type PromSample = { name: string; labels: Record<string, string>; value: number };

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!text) return labels;
  for (const match of text.matchAll(LABEL))
    labels[match[1]!] = match[2]!.replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
  return labels;
}

export function parsePromText(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const match = SAMPLE.exec(line);
    if (!match) continue;
    const value = Number(match[3]);
    if (Number.isFinite(value)) samples.push({ name: match[1]!, labels: parseLabels(match[2]), value });
  }
  return samples;
}

/** Sum of `metric`'s samples per value of `label` (samples without the label are left out). */
export function sumByLabel(samples: PromSample[], metric: string, label: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const s of samples) {
    const key = s.labels[label];
    if (s.name !== metric || key === undefined) continue;
    sums.set(key, (sums.get(key) ?? 0) + s.value);
  }
  return sums;
}

/** Value of the first sample named `metric` (whatever its labels), or undefined. */
export function firstValue(samples: PromSample[], metric: string): number | undefined {
  return samples.find((s) => s.name === metric)?.value;
}
