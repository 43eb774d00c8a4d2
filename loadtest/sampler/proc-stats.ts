import { readdir, readFile } from "node:fs/promises";
import { request } from "undici";
import { assertLoopbackUrl } from "../generator/loopback.ts";

/**
 * Reading one process's vital signs: resident memory and open descriptors from
 * /proc (Linux), and heap (used, total), external memory, array buffers and event-loop
 * lag from a Node process's Prometheus /metrics (prom-client default metrics, with or
 * without a prefix; array buffers from Corral's own `nodejs_array_buffers_bytes`, the heap
 * left by the last full GC from its `nodejs_heap_live_bytes`).
 */
export type ProcStats = { rssBytes: number; fds: number };
export type NodeMetrics = {
  heapUsedBytes?: number;
  heapTotalBytes?: number;
  externalBytes?: number;
  arrayBuffersBytes?: number;
  heapLiveBytes?: number;
  rssBytes?: number;
  eventLoopLagP99Ms?: number;
};

/** VmRSS from the text of /proc/<pid>/status, in bytes; undefined if absent. Pure. */
export function parseVmRss(status: string): number | undefined {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}

/**
 * The value of the first sample whose metric name ends with `suffix` (so both
 * `nodejs_heap_size_used_bytes` and `corral_nodejs_heap_size_used_bytes` match). Pure.
 */
export function promValue(text: string, suffix: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match && match[1]!.endsWith(suffix)) {
      const value = Number(match[3]);
      if (Number.isFinite(value)) return value;
    }
  }
  return undefined;
}

export function parseNodeMetrics(text: string): NodeMetrics {
  const lag = promValue(text, "nodejs_eventloop_lag_p99_seconds");
  return {
    heapUsedBytes: promValue(text, "nodejs_heap_size_used_bytes"),
    heapTotalBytes: promValue(text, "nodejs_heap_size_total_bytes"),
    externalBytes: promValue(text, "nodejs_external_memory_bytes"),
    arrayBuffersBytes: promValue(text, "nodejs_array_buffers_bytes"),
    heapLiveBytes: promValue(text, "nodejs_heap_live_bytes") || undefined,
    rssBytes: promValue(text, "process_resident_memory_bytes"),
    eventLoopLagP99Ms: lag === undefined ? undefined : lag * 1000,
  };
}

/** RSS and fd count of `pid`; undefined if the process is gone (or /proc unreadable). */
export async function readProcStats(pid: number): Promise<ProcStats | undefined> {
  try {
    const [status, fds] = await Promise.all([
      readFile(`/proc/${pid}/status`, "utf8"),
      readdir(`/proc/${pid}/fd`),
    ]);
    const rssBytes = parseVmRss(status);
    return rssBytes === undefined ? undefined : { rssBytes, fds: fds.length };
  } catch {
    return undefined;
  }
}

/** Scrapes a loopback /metrics endpoint (1 s timeout, 4 MiB cap); undefined on any failure. */
export async function fetchNodeMetrics(url: string): Promise<NodeMetrics | undefined> {
  assertLoopbackUrl(url);
  try {
    const res = await request(url, { headersTimeout: 1000, bodyTimeout: 1000 });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return undefined;
    }
    const text = await res.body.text();
    return text.length > 4 * 1024 * 1024 ? undefined : parseNodeMetrics(text);
  } catch {
    return undefined;
  }
}
