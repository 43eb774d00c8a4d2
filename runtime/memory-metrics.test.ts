import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { registerArrayBuffersGauge } from "./memory-metrics.ts";

test("the array-buffers gauge reports process.memoryUsage().arrayBuffers at scrape time", async () => {
  const registry = new Registry();
  registerArrayBuffersGauge(registry, "corral_dp_");
  const held = Buffer.alloc(8 * 1024 * 1024, 1);
  const text = await registry.metrics();
  const value = Number(/^corral_dp_nodejs_array_buffers_bytes (\d+)$/m.exec(text)?.[1]);
  assert.ok(value >= held.length, `gauge ${value}`);
  assert.ok(value <= process.memoryUsage().arrayBuffers + held.length);
});
