import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { oldGenerationUsed, registerArrayBuffersGauge } from "./memory-metrics.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Runs an ES module's source in a fresh Node with --expose-gc; resolves to its stdout. */
function runChild(source: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--expose-gc", "--input-type=module", "--eval", source],
      { cwd: ROOT, timeout: 60_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

test("the array-buffers gauge reports process.memoryUsage().arrayBuffers at scrape time", async () => {
  const registry = new Registry();
  registerArrayBuffersGauge(registry, "corral_dp_");
  const held = Buffer.alloc(8 * 1024 * 1024, 1);
  const text = await registry.metrics();
  const value = Number(/^corral_dp_nodejs_array_buffers_bytes (\d+)$/m.exec(text)?.[1]);
  assert.ok(value >= held.length, `gauge ${value}`);
  assert.ok(value <= process.memoryUsage().arrayBuffers + held.length);
});

test("the live-heap gauge follows what a full GC leaves, not the garbage before it", async () => {
  const run = await runChild(`
    import { Registry } from "prom-client";
    import { registerLiveHeapGauge } from "./runtime/memory-metrics.ts";
    const registry = new Registry();
    registerLiveHeapGauge(registry, "t_");
    const read = async () => Number(/^t_nodejs_heap_live_bytes (\\d+)$/m.exec(await registry.metrics())[1]);
    // the GC observer reports after the collection: wait for the reading to move, not for a time
    const after = async (previous) => {
      for (;;) {
        await new Promise((r) => setImmediate(r));
        const now = await read();
        if (now !== previous) return now;
      }
    };
    globalThis.gc();
    const base = await after(0);
    globalThis.kept = Array.from({ length: 200_000 }, (_, i) => ({ i, s: "x" + i }));
    globalThis.gc();
    const grown = await after(base);
    globalThis.kept = undefined;
    globalThis.gc();
    const freed = await after(grown);
    console.log(JSON.stringify({ base, grown, freed }));
  `);
  const { base, grown, freed } = JSON.parse(run) as { base: number; grown: number; freed: number };
  assert.ok(base > 0, `a full GC sets the gauge: ${base}`);
  // 200k small objects and strings: well over 8 MiB retained
  assert.ok(grown - base > 8 * 2 ** 20, `retained ${grown - base} bytes`);
  assert.ok(freed - base < 4 * 2 ** 20, `released: ${freed - base} bytes left over`);
});

test("oldGenerationUsed counts every space but the young generation", () => {
  const space = (space_name: string, space_used_size: number) =>
    ({
      space_name,
      space_used_size,
      space_size: 0,
      space_available_size: 0,
      physical_space_size: 0,
    }) as const;
  const spaces = [
    space("new_space", 100),
    space("old_space", 10),
    space("code_space", 2),
    space("new_large_object_space", 50),
    space("large_object_space", 5),
  ];
  assert.equal(oldGenerationUsed(spaces), 17);
});
