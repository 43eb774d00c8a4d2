/**
 * Runs load-blob.ts off the event loop. The worker verifies, decodes and validates a snapshot,
 * then hands its tenants back in small chunks, one message each, on request: each chunk is
 * deserialised and indexed in its own event-loop turn, so a 100k-tenant snapshot never holds
 * the loop for long. (One structured clone of the whole snapshot would stall it for seconds.)
 */
import type { KeyObject } from "node:crypto";
import { setImmediate as nextTurn } from "node:timers/promises";
import { Worker } from "node:worker_threads";
import { ConfigApplyError } from "../errors.ts";
import { type BlobHeaderInfo, type LoadRequest, loadBlob } from "./load-blob.ts";
import type { PlainConfigMeta, PlainTenant } from "./plain-config.ts";

export type LoadedSnapshot =
  | { outcome: "same"; header: BlobHeaderInfo; blob: Uint8Array }
  | {
      outcome: "new";
      header: BlobHeaderInfo;
      blob: Uint8Array;
      meta: PlainConfigMeta;
      /** the tenants, a chunk per iteration; stopping early releases the rest */
      chunks: AsyncIterable<PlainTenant[]>;
    };

export interface SnapshotLoader {
  /** Takes ownership of req.blob: use the blob in the result instead. */
  load(req: LoadRequest): Promise<LoadedSnapshot>;
  close(): Promise<void>;
}

/** Roughly the work of indexing one tenant: a few hundred weight units is well under 1 ms. */
export function tenantWeight(t: PlainTenant): number {
  return 4 + t.keys.length + 2 * t.routes.length + t.upstreams.length;
}

export const CHUNK_WEIGHT = 4_000;

/** Index one past the last tenant of the chunk starting at `from` (always at least one tenant). */
export function chunkEnd(tenants: readonly PlainTenant[], from: number, maxWeight = CHUNK_WEIGHT): number {
  let end = from;
  let weight = 0;
  while (end < tenants.length && (end === from || weight + tenantWeight(tenants[end]!) <= maxWeight)) {
    weight += tenantWeight(tenants[end]!);
    end++;
  }
  return end;
}

/** Same contract on the calling thread: for tests and small snapshots. */
export class InlineSnapshotLoader implements SnapshotLoader {
  private readonly publicKey: KeyObject;

  constructor(publicKey: KeyObject) {
    this.publicKey = publicKey;
  }

  async load(req: LoadRequest): Promise<LoadedSnapshot> {
    const result = loadBlob(req, this.publicKey);
    if (result.outcome === "same") return { outcome: "same", header: result.header, blob: req.blob };
    const { tenants } = result;
    async function* chunks(): AsyncGenerator<PlainTenant[]> {
      for (let from = 0; from < tenants.length; ) {
        const end = chunkEnd(tenants, from);
        yield tenants.slice(from, end);
        from = end;
        await nextTurn();
      }
    }
    return { outcome: "new", header: result.header, blob: req.blob, meta: result.meta, chunks: chunks() };
  }

  async close(): Promise<void> {}
}

// ---- worker ---------------------------------------------------------------------

export type WorkerRequest = { op: "load"; req: LoadRequest } | { op: "chunk" } | { op: "release" };

export type WorkerReply =
  | {
      op: "loaded";
      outcome: "same" | "new";
      header: BlobHeaderInfo;
      meta?: PlainConfigMeta;
      blob: Uint8Array;
    }
  | { op: "chunk"; tenants: PlainTenant[] | null }
  | { op: "error"; code: string; message: string };

export interface WorkerLoaderOptions {
  loadTimeoutMs?: number;
  chunkTimeoutMs?: number;
}

interface Waiter {
  resolve: (reply: WorkerReply) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

function transferable(blob: Uint8Array): Uint8Array {
  const whole = blob.byteOffset === 0 && blob.byteLength === blob.buffer.byteLength;
  return whole && blob.buffer instanceof ArrayBuffer ? blob : new Uint8Array(blob);
}

export class WorkerSnapshotLoader implements SnapshotLoader {
  private readonly publicKey: KeyObject;
  private readonly loadTimeoutMs: number;
  private readonly chunkTimeoutMs: number;
  private worker: Worker | undefined;
  private readonly waiters: Waiter[] = [];
  private closed = false;

  constructor(publicKey: KeyObject, opts: WorkerLoaderOptions = {}) {
    this.publicKey = publicKey;
    this.loadTimeoutMs = opts.loadTimeoutMs ?? 120_000;
    this.chunkTimeoutMs = opts.chunkTimeoutMs ?? 30_000;
  }

  private spawn(): Worker {
    const worker = new Worker(new URL("./snapshot-worker.ts", import.meta.url), {
      workerData: { publicKey: this.publicKey },
    });
    worker.on("message", (reply: WorkerReply) => this.settle(undefined, reply));
    worker.on("error", (err) => this.fail(worker, `snapshot worker failed: ${err.message}`));
    worker.on("exit", (code) => this.fail(worker, `snapshot worker exited with code ${code}`));
    return worker;
  }

  private fail(worker: Worker, message: string): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    while (this.waiters.length > 0) this.settle(new ConfigApplyError("CORRAL_DP_CONFIG_WORKER", message));
  }

  private settle(err: Error | undefined, reply?: WorkerReply): void {
    const waiter = this.waiters.shift();
    if (!waiter) return;
    clearTimeout(waiter.timer);
    if (err) waiter.reject(err);
    else waiter.resolve(reply!);
  }

  private call(msg: WorkerRequest, timeoutMs: number, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.closed) return Promise.reject(new ConfigApplyError("CORRAL_DP_CONFIG_CLOSED", "loader closed"));
    this.worker ??= this.spawn();
    const worker = this.worker;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        void worker.terminate();
        this.fail(worker, `snapshot worker did not answer ${msg.op} within ${timeoutMs} ms`);
      }, timeoutMs);
      this.waiters.push({ resolve, reject, timer });
      worker.postMessage(msg, transfer);
    });
  }

  async load(req: LoadRequest): Promise<LoadedSnapshot> {
    const blob = transferable(req.blob);
    const reply = await this.call({ op: "load", req: { ...req, blob } }, this.loadTimeoutMs, [
      blob.buffer as ArrayBuffer,
    ]);
    if (reply.op === "error")
      throw new ConfigApplyError(reply.code as ConfigApplyError["code"], reply.message);
    if (reply.op !== "loaded")
      throw new ConfigApplyError("CORRAL_DP_CONFIG_WORKER", `unexpected ${reply.op}`);
    if (reply.outcome === "same") return { outcome: "same", header: reply.header, blob: reply.blob };
    return {
      outcome: "new",
      header: reply.header,
      blob: reply.blob,
      meta: reply.meta!,
      chunks: this.chunks(),
    };
  }

  /** Asks for the next chunk as soon as one arrives, so the worker clones while the caller indexes. */
  private async *chunks(): AsyncGenerator<PlainTenant[]> {
    let next = this.call({ op: "chunk" }, this.chunkTimeoutMs);
    try {
      for (;;) {
        const reply = await next;
        if (reply.op !== "chunk")
          throw new ConfigApplyError("CORRAL_DP_CONFIG_WORKER", `unexpected ${reply.op}`);
        if (reply.tenants === null) return;
        next = this.call({ op: "chunk" }, this.chunkTimeoutMs);
        yield reply.tenants;
      }
    } finally {
      next.catch(() => {});
      this.worker?.postMessage({ op: "release" } satisfies WorkerRequest);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    while (this.waiters.length > 0)
      this.settle(new ConfigApplyError("CORRAL_DP_CONFIG_CLOSED", "loader closed"));
    if (worker) await worker.terminate();
  }
}
