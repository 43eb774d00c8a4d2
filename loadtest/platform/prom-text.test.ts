import assert from "node:assert/strict";
import { test } from "node:test";
import { firstValue, parsePromText, sumByLabel } from "./prom-text.ts";

const TEXT = `# HELP corral_dp_requests_total tenant requests answered
# TYPE corral_dp_requests_total counter
corral_dp_requests_total{reason="upstream",status_class="2xx"} 120
corral_dp_requests_total{reason="quota",status_class="4xx"} 7
corral_dp_requests_total{reason="upstream",status_class="5xx"} 3
corral_dp_requests_total{status_class="2xx"} 99
corral_dp_config_version 42
weird{path="a\\"b",x="1"} 5
not a sample
`;

test("parses samples with labels, skipping comments and junk", () => {
  const samples = parsePromText(TEXT);
  assert.equal(samples.length, 6);
  assert.deepEqual(samples[0], {
    name: "corral_dp_requests_total",
    labels: { reason: "upstream", status_class: "2xx" },
    value: 120,
  });
  assert.deepEqual(samples.at(-1)?.labels, { path: 'a"b', x: "1" });
});

test("sums one metric by one label", () => {
  const sums = sumByLabel(parsePromText(TEXT), "corral_dp_requests_total", "reason");
  assert.deepEqual([...sums.entries()].sort(), [
    ["quota", 7],
    ["upstream", 123],
  ]);
});

test("reads a gauge", () => {
  assert.equal(firstValue(parsePromText(TEXT), "corral_dp_config_version"), 42);
  assert.equal(firstValue(parsePromText(TEXT), "missing"), undefined);
});
