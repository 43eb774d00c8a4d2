/**
 * The Acks of every node on this replica, written together (issue 14): a version announced to
 * 1,000 nodes brings 1,000 Acks within a few hundred milliseconds, and writing each node's
 * applied version and report on its own cost 2,000 queries (most of the control plane's and
 * Postgres' CPU in a propagation round, competing with the nodes' own fetch and check). Acks
 * wait at most `flushMs`, then one write takes all of them; one write runs at a time, and Acks
 * that arrive meanwhile go into the next. Per node and version one Ack is kept (a node acks a
 * version once; a repeat changes nothing). Failures are handed to onError; a batch is then
 * lost, as a single failed write was before (the next Ack of each node writes its state again).
 */
export interface AckRecord {
  slot: string;
  version: number;
  /** publish -> Ack, when the node was connected when the version was published */
  latencyMs: number | undefined;
}

export interface AckBatchOptions {
  write: (acks: AckRecord[]) => Promise<void>;
  flushMs: number;
  onError: (err: unknown, count: number) => void;
  /** the most Acks waiting before a write starts without waiting out flushMs */
  maxBatch?: number;
}

export class AckBatch {
  readonly #opts: AckBatchOptions;
  #pending = new Map<string, AckRecord>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(opts: AckBatchOptions) {
    this.#opts = opts;
  }

  get pending(): number {
    return this.#pending.size;
  }

  add(ack: AckRecord): void {
    this.#pending.set(`${ack.slot}\u0000${ack.version}`, ack);
    if (this.#pending.size >= (this.#opts.maxBatch ?? 5000)) this.#flushSoon(0);
    else this.#flushSoon(this.#opts.flushMs);
  }

  /** Writes what is pending now and waits for every write (shutdown, tests). */
  async idle(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#running || this.#pending.size > 0) {
      if (!this.#running) this.#flush();
      await this.#running;
    }
  }

  #flushSoon(ms: number): void {
    if (this.#running) return; // the running write schedules the next when it ends
    if (this.#timer !== undefined) {
      if (ms > 0) return;
      clearTimeout(this.#timer);
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, ms);
  }

  #flush(): void {
    if (this.#running || this.#pending.size === 0) return;
    const batch = [...this.#pending.values()];
    this.#pending = new Map();
    this.#running = this.#opts
      .write(batch)
      .catch((err) => this.#opts.onError(err, batch.length))
      .finally(() => {
        this.#running = undefined;
        if (this.#pending.size > 0) this.#flushSoon(this.#opts.flushMs);
      });
  }
}
