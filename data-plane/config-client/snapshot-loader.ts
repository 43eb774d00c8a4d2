/**
 * Runs load-blob.ts off the event loop. The worker verifies, decodes, validates and indexes a
 * snapshot and sends back only ArrayBuffers (transferred, not copied): applying even a
 * 100k-tenant snapshot costs the event loop one message and no per-tenant work.
 */
import type { KeyObject } from "node:crypto";
import { Worker } from "node:worker_threads";
import { ConfigApplyError } from "../errors.ts";
import { type BlobHeaderInfo, type LoadRequest, loadBlob } from "./load-blob.ts";
import type { SnapshotIndex } from "./snapshot-index.ts";

export type LoadedSnapshot =
  | { outcome: "same"; header: BlobHeaderInfo; blob: Uint8Array }
  | { outcome: "new"; header: BlobHeaderInfo; blob: Uint8Array; index: SnapshotIndex };

export interface SnapshotLoader {
  /** Takes ownership of req.blob: use the blob in the result instead. */
  load(req: LoadRequest): Promise<LoadedSnapshot>;
  close(): Promise<void>;
}

/** Same contract on the calling thread: for tests and tools. */
export class InlineSnapshotLoader implements SnapshotLoader {
  private readonly publicKey: KeyObject;

  constructor(publicKey: KeyObject) {
    this.publicKey = publicKey;
  }

  async load(req: LoadRequest): Promise<LoadedSnapshot> {
    const result = loadBlob(req, this.publicKey);
    return { ...result, blob: req.blob };
  }

  async close(): Promise<void> {}
}

// ---- worker ---------------------------------------------------------------------

export type WorkerReply =
  | { op: "loaded"; loaded: LoadedSnapshot }
  | { op: "error"; code: string; message: string };

/**
 * A typed array that owns its whole ArrayBuffer, so the buffer can be transferred; anything
 * else (a view into a pool or a larger buffer) is copied first.
 */
export function ownBuffer<T extends Uint8Array | Uint32Array>(array: T): T {
  const whole = array.byteOffset === 0 && array.byteLength === array.buffer.byteLength;
  if (whole && array.buffer instanceof ArrayBuffer) return array;
  // a copy into a fresh buffer (Buffer#slice would return a view of the same pool)
  return (array instanceof Uint32Array ? new Uint32Array(array) : new Uint8Array(array)) as T;
}

interface Waiter {
  resolve: (reply: WorkerReply) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class WorkerSnapshotLoader implements SnapshotLoader {
  private readonly publicKey: KeyObject;
  private readonly timeoutMs: number;
  private worker: Worker | undefined;
  private readonly waiters: Waiter[] = [];
  private closed = false;

  constructor(publicKey: KeyObject, opts: { timeoutMs?: number } = {}) {
    this.publicKey = publicKey;
    this.timeoutMs = opts.timeoutMs ?? 120_000;
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

  /** Starts the worker now, so the next load does not wait for it. */
  warm(): void {
    if (!this.closed) this.worker ??= this.spawn();
  }

  private call(req: LoadRequest): Promise<WorkerReply> {
    if (this.closed) return Promise.reject(new ConfigApplyError("CORRAL_DP_CONFIG_CLOSED", "loader closed"));
    this.worker ??= this.spawn();
    const worker = this.worker;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        void worker.terminate();
        this.fail(worker, `snapshot worker did not answer within ${this.timeoutMs} ms`);
      }, this.timeoutMs);
      this.waiters.push({ resolve, reject, timer });
      worker.postMessage(req, [req.blob.buffer as ArrayBuffer]);
    });
  }

  async load(req: LoadRequest): Promise<LoadedSnapshot> {
    const reply = await this.call({ ...req, blob: ownBuffer(req.blob) });
    if (reply.op === "error")
      throw new ConfigApplyError(reply.code as ConfigApplyError["code"], reply.message);
    return reply.loaded;
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

/**
 * Until this node serves a config there is no traffic whose event loop a decode could stall,
 * so that first load (the boot from the disk cache) runs inline and a restarted node need not
 * wait for a worker to start; every later load goes to the worker, which is started meanwhile.
 */
export class BootInlineLoader implements SnapshotLoader {
  private readonly inline: SnapshotLoader;
  private readonly worker: WorkerSnapshotLoader;
  private readonly serving: () => boolean;

  constructor(publicKey: KeyObject, serving: () => boolean) {
    this.inline = new InlineSnapshotLoader(publicKey);
    this.worker = new WorkerSnapshotLoader(publicKey);
    this.serving = serving;
  }

  async load(req: LoadRequest): Promise<LoadedSnapshot> {
    if (this.serving()) return this.worker.load(req);
    try {
      return await this.inline.load(req);
    } finally {
      this.worker.warm();
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.inline.close(), this.worker.close()]);
  }
}
