/**
 * Runs the loads of the apply path (snapshot-job.ts) off the event loop. The worker reads the
 * blob from the blob store or the disk cache itself, verifies, decodes, validates and indexes
 * it, and writes the disk cache; the main thread sends a trigger and gets back the header, plus
 * the index only when the content is new, as ArrayBuffers transferred, not copied. A periodic
 * pull of unchanged content costs the event loop two small messages; applying even a
 * 100k-tenant snapshot costs it one message and no per-tenant work.
 */
import type { KeyObject } from "node:crypto";
import { Worker } from "node:worker_threads";
import type { BlobStore } from "../../runtime/blob-store/blob-store.ts";
import { ConfigApplyError } from "../errors.ts";
import { ConfigSources } from "./config-sources.ts";
import { type JobRequest, LoadFailure, type LoadedSnapshot, SnapshotJob } from "./snapshot-job.ts";

export interface SnapshotLoader {
  /** Fetches and loads what the trigger names; throws a LoadFailure (or a ConfigApplyError). */
  load(req: JobRequest): Promise<LoadedSnapshot>;
  /** Writes the blob of the last load, which had this version, to the disk cache. */
  persist(version: number): Promise<void>;
  close(): Promise<void>;
}

/** What the worker needs to open the sources itself (settings, not objects: a store is not cloneable). */
export interface SourceSettings {
  publicKey: KeyObject;
  /** CORRAL_BLOB_URL and CORRAL_S3_ENDPOINT */
  blobUrl: string;
  s3Endpoint?: string;
  dataDir: string;
  /** the largest blob read from the store or the disk cache */
  maxBytes: number;
}

/** Same contract on the calling thread: for the boot, tests and tools. */
export class InlineSnapshotLoader implements SnapshotLoader {
  private readonly job: SnapshotJob;

  constructor(job: SnapshotJob) {
    this.job = job;
  }

  load(req: JobRequest): Promise<LoadedSnapshot> {
    return this.job.load(req);
  }

  persist(version: number): Promise<void> {
    return this.job.persist(version);
  }

  async close(): Promise<void> {
    this.job.release();
  }
}

// ---- worker ---------------------------------------------------------------------

export type WorkerCall = { op: "load"; req: JobRequest } | { op: "persist"; version: number };

export type WorkerReply =
  | { op: "loaded"; loaded: LoadedSnapshot }
  | { op: "persisted" }
  | { op: "error"; code: string; message: string; namedVersion?: number };

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
  private readonly settings: SourceSettings;
  private readonly timeoutMs: number;
  private worker: Worker | undefined;
  private readonly waiters: Waiter[] = [];
  private closed = false;

  constructor(settings: SourceSettings, opts: { timeoutMs?: number } = {}) {
    this.settings = settings;
    this.timeoutMs = opts.timeoutMs ?? 120_000;
  }

  private spawn(): Worker {
    const worker = new Worker(new URL("./snapshot-worker.ts", import.meta.url), {
      workerData: this.settings,
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

  private async call(call: WorkerCall): Promise<WorkerReply> {
    if (this.closed) throw new ConfigApplyError("CORRAL_DP_CONFIG_CLOSED", "loader closed");
    this.worker ??= this.spawn();
    const worker = this.worker;
    const reply = await new Promise<WorkerReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        void worker.terminate();
        this.fail(worker, `snapshot worker did not answer within ${this.timeoutMs} ms`);
      }, this.timeoutMs);
      this.waiters.push({ resolve, reject, timer });
      worker.postMessage(call);
    });
    if (reply.op === "error") throw new LoadFailure(reply, reply.namedVersion);
    return reply;
  }

  async load(req: JobRequest): Promise<LoadedSnapshot> {
    const reply = await this.call({ op: "load", req });
    if (reply.op !== "loaded") throw new Error(`snapshot worker answered ${reply.op} to a load`);
    return reply.loaded;
  }

  async persist(version: number): Promise<void> {
    await this.call({ op: "persist", version });
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
 * so loads run inline (through the store the node already opened) and a restarted node need
 * not wait for a worker to start; once it serves, every load goes to the worker, which is
 * started meanwhile. The disk cache is written by whichever loaded the blob.
 */
export class BootInlineLoader implements SnapshotLoader {
  private readonly inline: InlineSnapshotLoader;
  private readonly worker: WorkerSnapshotLoader;
  private readonly serving: () => boolean;
  private last: SnapshotLoader | undefined;

  constructor(settings: SourceSettings, store: BlobStore, serving: () => boolean) {
    const sources = new ConfigSources(store, settings.dataDir, settings.maxBytes);
    this.inline = new InlineSnapshotLoader(new SnapshotJob(sources, settings.publicKey));
    this.worker = new WorkerSnapshotLoader(settings);
    this.serving = serving;
  }

  async load(req: JobRequest): Promise<LoadedSnapshot> {
    if (this.serving()) {
      if (this.last === this.inline) await this.inline.close();
      this.last = this.worker;
      return this.worker.load(req);
    }
    this.last = this.inline;
    try {
      return await this.inline.load(req);
    } finally {
      this.worker.warm();
    }
  }

  persist(version: number): Promise<void> {
    return (this.last ?? this.inline).persist(version);
  }

  async close(): Promise<void> {
    await Promise.all([this.inline.close(), this.worker.close()]);
  }
}
