/** Reading a process's Prometheus /metrics page in tests. */

/** The value of an unlabelled metric on a /metrics page (undefined when absent). */
export async function metricValue(baseUrl: string, name: string): Promise<number | undefined> {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  const line = (await res.text()).split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** The sum of a metric over all its label sets on a /metrics page (0 when absent). */
export async function metricSum(baseUrl: string, name: string): Promise<number> {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  return (await res.text())
    .split("\n")
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}
