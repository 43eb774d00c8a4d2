/**
 * A short memory of targets that recently failed to connect (upstream targets, shard members),
 * so the next request goes to one that did not. Each caller keeps its own memory and duration;
 * the clock is injected (monotonic ms). An entry is forgotten once its time is up. Pure.
 */
export class RecentFailures {
  readonly #until = new Map<string, number>();
  readonly #clock: () => number;
  readonly #forMs: number;

  /** `forMs`: how long a failed target is skipped */
  constructor(clock: () => number, forMs: number) {
    this.#clock = clock;
    this.#forMs = forMs;
  }

  /** Targets remembered (expired ones go when next asked about). */
  get size(): number {
    return this.#until.size;
  }

  /** Remembers `key` as failed from now on, for the memory's duration. */
  mark(key: string): void {
    this.#until.set(key, this.#clock() + this.#forMs);
  }

  /** Whether `key` failed less than the duration ago (at `now`, default the clock's now). */
  failed(key: string, now = this.#clock()): boolean {
    const until = this.#until.get(key);
    if (until === undefined) return false;
    if (until > now) return true;
    this.#until.delete(key);
    return false;
  }

  /** The first item that did not recently fail; when every one did, the first (it may be back). */
  firstLive<T>(items: readonly T[], keyOf: (item: T) => string): T | undefined {
    if (this.#until.size === 0) return items[0];
    const now = this.#clock();
    return items.find((item) => !this.failed(keyOf(item), now)) ?? items[0];
  }

  /** The items that did not recently fail, in order; all of them when every one did. */
  live<T>(items: readonly T[], keyOf: (item: T) => string): T[] {
    if (this.#until.size === 0) return [...items];
    const now = this.#clock();
    const up = items.filter((item) => !this.failed(keyOf(item), now));
    return up.length > 0 ? up : [...items];
  }
}
