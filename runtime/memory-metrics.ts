import { Gauge, type Registry } from "prom-client";

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
