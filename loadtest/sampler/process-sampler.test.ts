import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { parseNodeMetrics, parseVmRss, promValue } from "./proc-stats.ts";
import { ProcessSampler, SELF } from "./process-sampler.ts";
import { poll } from "../../test/support/poll.ts";

const METRICS = `# HELP corral_nodejs_heap_size_used_bytes Process heap size used from Node.js in bytes.
# TYPE corral_nodejs_heap_size_used_bytes gauge
corral_nodejs_heap_size_used_bytes 12345678
corral_nodejs_heap_size_total_bytes 23456789
corral_nodejs_external_memory_bytes 3456789
corral_nodejs_array_buffers_bytes 2345678
corral_nodejs_heap_live_bytes 11223344
corral_process_resident_memory_bytes 98765432
corral_nodejs_eventloop_lag_p99_seconds 0.0125
corral_http_requests_total{route="/x"} 5
`;

test("metrics and /proc parsing", () => {
  assert.equal(parseVmRss("Name:\tnode\nVmRSS:\t   20480 kB\nVmSwap:\t0 kB\n"), 20480 * 1024);
  assert.equal(parseVmRss("Name:\tzombie\n"), undefined);
  assert.deepEqual(parseNodeMetrics(METRICS), {
    heapUsedBytes: 12345678,
    heapTotalBytes: 23456789,
    externalBytes: 3456789,
    arrayBuffersBytes: 2345678,
    heapLiveBytes: 11223344,
    rssBytes: 98765432,
    eventLoopLagP99Ms: 12.5,
  });
  // 0 (no full GC yet) is no reading
  assert.equal(parseNodeMetrics("corral_nodejs_heap_live_bytes 0\n").heapLiveBytes, undefined);
  assert.equal(promValue(METRICS, "http_requests_total"), 5);
  assert.equal(promValue(METRICS, "missing"), undefined);
});

test("samples a live process with /metrics, the generator itself, and marks a dead pid", async () => {
  const server = createServer((_req, res) => res.end(METRICS));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  const sampler = new ProcessSampler({ intervalMs: 50 });
  sampler.add({ name: "me", pid: process.pid, metricsUrl: `http://127.0.0.1:${port}/metrics` });
  sampler.add({ name: "gone", pid: 2 ** 22 + 7 });
  sampler.start();
  // wait for two rounds (not a fixed sleep: a loaded machine may stretch the interval)
  const rounds = () => sampler.samples().filter((s) => s.name === "me" || s.name === SELF);
  await poll("two sampling rounds", () => rounds().length >= 4);
  await sampler.stop();
  server.close();
  const samples = sampler.samples();
  const me = samples.filter((s) => s.name === "me");
  assert.ok(me.length >= 2, `${me.length} samples`);
  assert.equal(me[0]!.alive, true);
  assert.ok(me[0]!.rssBytes! > 10 * 1024 * 1024);
  assert.ok(me[0]!.fds! > 3);
  assert.equal(me[0]!.heapUsedBytes, 12345678);
  assert.equal(me[0]!.externalBytes, 3456789);
  assert.equal(me[0]!.arrayBuffersBytes, 2345678);
  assert.equal(me[0]!.eventLoopDelayP99Ms, 12.5);
  assert.equal(samples.find((s) => s.name === "gone")!.alive, false);
  const self = samples.filter((s) => s.name === SELF);
  assert.ok(self.length >= 2);
  assert.ok(self.at(-1)!.heapUsedBytes! > 0);
  assert.ok(self.at(-1)!.externalBytes! >= self.at(-1)!.arrayBuffersBytes!);
  assert.ok(self.at(-1)!.eventLoopDelayP99Ms! >= 0);
});
