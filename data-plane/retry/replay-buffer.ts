/**
 * The request bytes of a streamed call so far (gRPC: its length-prefixed messages as they came),
 * kept up to a bound so that a retry can send them again to another target. Past the bound the
 * call can no longer be retried and nothing more is kept. Pure.
 */
export class ReplayBuffer {
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #bytes = 0;
  /** more than the bound came: the call cannot be sent again */
  overflowed = false;
  /** the client ended its side: a retry ends the new stream after the replay */
  ended = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get chunks(): readonly Buffer[] {
    return this.#chunks;
  }

  /** Keeps a copy of `chunk` (the stream may reuse its memory), or gives up past the bound. */
  add(chunk: Uint8Array): void {
    if (this.overflowed) return;
    this.#bytes += chunk.length;
    if (this.#bytes > this.#limit) {
      this.overflowed = true;
      this.#chunks = [];
      return;
    }
    this.#chunks.push(Buffer.from(chunk));
  }
}
