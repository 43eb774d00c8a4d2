import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { metricMakers } from "./metric-makers.ts";

test("the makers register in their registry with the given name, help, labels and buckets", async () => {
  const registry = new Registry();
  const m = metricMakers(registry);
  m.counter("t_calls_total", "calls", ["code"]).inc({ code: "ok" });
  m.histogram("t_seconds", "time", [0.1, 1]).observe(0.5);
  let scraped = 0;
  m.gauge("t_scraped", "set on each scrape", (g) => g.set(++scraped));
  m.gauge("t_plain", "set by hand").set(7);
  const text = await registry.metrics();
  assert.match(
    text,
    /# HELP t_calls_total calls\n# TYPE t_calls_total counter\nt_calls_total\{code="ok"\} 1/,
  );
  assert.match(text, /t_seconds_bucket\{le="0.1"\} 0\nt_seconds_bucket\{le="1"\} 1/);
  assert.match(text, /t_scraped 1\n/);
  assert.match(await registry.metrics(), /t_scraped 2\n/, "collect runs on every scrape");
  assert.match(text, /t_plain 7\n/);
});
