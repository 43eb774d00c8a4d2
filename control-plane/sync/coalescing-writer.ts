/**
 * The database writes of one node connection, coalesced: at most one write per kind waits,
 * a newer one of the same kind replaces it (the latest state is what counts), and one write
 * runs at a time, in the order the kinds first became pending. However fast a node sends,
 * its queue holds at most one write per kind and its writes run one after another.
 * Failures are handed to onError and never stop the queue.
 */
export type WriteJob = () => Promise<void>;

export interface CoalescingWriterHooks<K extends string> {
  onRun(kind: K): void;
  onReplaced(kind: K): void;
  onError(kind: K, err: unknown): void;
}

export class CoalescingWriter<K extends string> {
  private readonly hooks: CoalescingWriterHooks<K>;
  private readonly pending = new Map<K, WriteJob>();
  private running: Promise<void> | undefined;

  constructor(hooks: CoalescingWriterHooks<K>) {
    this.hooks = hooks;
  }

  /** writes waiting to run (at most one per kind) */
  get size(): number {
    return this.pending.size;
  }

  enqueue(kind: K, job: WriteJob): void {
    if (this.pending.has(kind)) this.hooks.onReplaced(kind);
    this.pending.set(kind, job);
    this.running ??= this.drain();
  }

  /** resolves when nothing is pending or running */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      for (let next = this.takeNext(); next; next = this.takeNext()) {
        const [kind, job] = next;
        this.hooks.onRun(kind);
        await job().catch((err) => this.hooks.onError(kind, err));
      }
    } finally {
      this.running = undefined;
    }
  }

  private takeNext(): [K, WriteJob] | undefined {
    const first = this.pending.entries().next();
    if (first.done) return undefined;
    this.pending.delete(first.value[0]);
    return first.value;
  }
}
