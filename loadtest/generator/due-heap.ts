/** A binary min-heap of (due time, tenant index): which tenant's next request is due first. */
export class DueHeap {
  readonly #due: number[] = [];
  readonly #tenant: number[] = [];

  get size(): number {
    return this.#due.length;
  }

  /** Due time of the earliest entry, Infinity when empty. */
  peekDue(): number {
    return this.#due.length > 0 ? this.#due[0]! : Number.POSITIVE_INFINITY;
  }

  push(due: number, tenant: number): void {
    this.#due.push(due);
    this.#tenant.push(tenant);
    this.#up(this.#due.length - 1);
  }

  /** Removes the earliest entry and returns its tenant index. */
  pop(): number {
    const top = this.#tenant[0]!;
    const lastDue = this.#due.pop()!;
    const lastTenant = this.#tenant.pop()!;
    if (this.#due.length > 0) {
      this.#due[0] = lastDue;
      this.#tenant[0] = lastTenant;
      this.#down(0);
    }
    return top;
  }

  #swap(a: number, b: number): void {
    [this.#due[a], this.#due[b]] = [this.#due[b]!, this.#due[a]!];
    [this.#tenant[a], this.#tenant[b]] = [this.#tenant[b]!, this.#tenant[a]!];
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#due[parent]! <= this.#due[i]!) return;
      this.#swap(parent, i);
      i = parent;
    }
  }

  #down(i: number): void {
    const n = this.#due.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < n && this.#due[l]! < this.#due[min]!) min = l;
      if (r < n && this.#due[r]! < this.#due[min]!) min = r;
      if (min === i) return;
      this.#swap(min, i);
      i = min;
    }
  }
}
