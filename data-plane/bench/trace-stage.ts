/**
 * The trace stage's own cost per request, in CPU time of this thread (immune to other processes
 * on a shared machine): export off (ids only) with and without a client traceparent, and export
 * on at 1 % sampling (new traces) and with a sampled client parent (every span recorded, ended
 * and queued: the worst case). Each case runs the stage and the request's finish callbacks, the
 * way an ingress does. The exporter points at a port where nothing listens: its failures cost
 * what a dead collector costs.
 *
 *   node data-plane/bench/trace-stage.ts [requests=200000]
 *
 * Compare with a proxied request's CPU time (about 1 / the data plane's per-core throughput in
 * bench-proxies: ~100-200 µs on the reference machine).
 */
import { randomFillSync } from "node:crypto";
import { TraceIds } from "../../runtime/trace-context.ts";
import { startTracing } from "../../runtime/tracing.ts";
import { traceStage } from "../pipeline/trace.ts";
import type { RequestContext, Stage } from "../pipeline/stage.ts";

const requests = Number(process.argv[2] ?? 200_000);
const ids = new TraceIds((buf) => randomFillSync(buf));
const PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

function context(traceparent: string | undefined): RequestContext {
  return {
    method: "GET",
    host: "api.example.com",
    path: "/v1/items",
    url: "/v1/items",
    headers: traceparent ? { traceparent, tracestate: "vendor=abc" } : {},
    remoteAddress: "127.0.0.1",
    proto: "http",
    receivedAt: 0,
    responseHeaders: {},
    onFinish: [],
  };
}

/** µs of CPU per request for `n` requests through `stage`. */
function measure(stage: Stage, traceparent: string | undefined, n: number): number {
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const ctx = context(traceparent);
    stage.run(ctx);
    for (const fn of ctx.onFinish) fn(200, "upstream");
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

/** the stage-less baseline: building the context alone */
function baseline(n: number): number {
  return measure({ name: "none", run: () => undefined }, PARENT, n);
}

const tracing = startTracing(
  { endpoint: "http://127.0.0.1:9/v1/traces", sampleRatio: 0.01, queueSize: 2048 },
  { name: "bench", instance: "bench" },
);
const off = traceStage(undefined, ids);
const on = traceStage(tracing!.tracer, ids);
const cases: Array<[string, () => number]> = [
  ["context only (baseline)", () => baseline(requests)],
  ["off, client traceparent", () => measure(off, PARENT, requests)],
  ["off, no traceparent", () => measure(off, undefined, requests)],
  ["on 1 %, no traceparent", () => measure(on, undefined, requests)],
  ["on, sampled parent (all recorded)", () => measure(on, PARENT, requests)],
];
for (const [, run] of cases) run(); // warm-up: JIT
for (const [name, run] of cases) console.log(`${name.padEnd(36)} ${run().toFixed(2)} µs CPU per request`);
await tracing!.close();
