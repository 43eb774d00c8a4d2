import { constants, PerformanceObserver } from "node:perf_hooks";
import v8 from "node:v8";
import { Gauge, type Registry } from "prom-client";

const MAJOR_GC = constants.NODE_PERFORMANCE_GC_MAJOR;

/**
 * The one `process.memoryUsage()` figure prom-client's default metrics leave out:
 * `arrayBuffers` (ArrayBuffers and SharedArrayBuffers, Buffers among them — where
 * snapshot pulls, sockets' chunks and request bodies live). With the defaults' RSS, heap
 * and external memory it tells a soak where a process's memory goes. Shared by the
 * control plane and the data plane, each with its own prefix.
 */
export function registerArrayBuffersGauge(registry: Registry, prefix: string): Gauge {
  return new Gauge({
    name: `${prefix}nodejs_array_buffers_bytes`,
    help: "Memory allocated for ArrayBuffers and SharedArrayBuffers (process.memoryUsage().arrayBuffers), in bytes",
    registers: [registry],
    collect() {
      this.set(process.memoryUsage().arrayBuffers);
    },
  });
}

/** Spaces of the young generation: their use is garbage-in-waiting, not retention. */
const YOUNG_SPACES: ReadonlySet<string> = new Set(["new_space", "new_large_object_space"]);

/** Used bytes of every heap space outside the young generation. Pure over its input. */
export function oldGenerationUsed(spaces: readonly v8.HeapSpaceInfo[]): number {
  let used = 0;
  for (const s of spaces) if (!YOUNG_SPACES.has(s.space_name)) used += s.space_used_size;
  return used;
}

/** What the last full GC left (process-wide: one observer however many registries). */
let liveAfterFullGc = 0;
let observer: PerformanceObserver | undefined;

function watchFullGcs(): void {
  if (observer) return;
  observer = new PerformanceObserver((list) => {
    if (list.getEntries().some((e) => (e as { detail?: { kind?: number } }).detail?.kind === MAJOR_GC)) {
      liveAfterFullGc = oldGenerationUsed(v8.getHeapSpaceStatistics());
    }
  });
  observer.observe({ entryTypes: ["gc"] });
}

/**
 * The retained JS heap: the old generation (heap outside the young generation: old, code,
 * large-object and trusted spaces) as the last full mark-compact GC left it, read when the
 * GC's performance entry arrives. `heapUsed` and `heapTotal` rise and fall with the
 * collector's schedule (old space fills for minutes between full GCs, the young generation
 * grows and is shrunk by V8's memory reducer), so their slopes over a soak say more about
 * when the samples fell than about retention; this one moves only when what survives a full
 * GC does. 0 until the first full GC.
 */
export function registerLiveHeapGauge(registry: Registry, prefix: string): Gauge {
  watchFullGcs();
  return new Gauge({
    name: `${prefix}nodejs_heap_live_bytes`,
    help: "JS heap outside the young generation right after the last full (mark-compact) GC: the retained heap, in bytes (0 before the first)",
    registers: [registry],
    collect() {
      this.set(liveAfterFullGc);
    },
  });
}
