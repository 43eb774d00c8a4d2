/**
 * Fault markers on the run's time axis: every injected fault (a signal, a toxic, a
 * proxy disabled) is recorded with its epoch-ms time so the report can draw it as a
 * vertical line over every plot. A fault with a duration gets `endEpochMs` when it
 * is lifted.
 */
export type FaultMarker = {
  atEpochMs: number;
  endEpochMs?: number;
  label: string;
  /** e.g. "signal", "toxic", "partition", "restart" */
  kind: string;
};

export class FaultTimeline {
  readonly #markers: FaultMarker[] = [];
  readonly #now: () => number;

  constructor(now: () => number = () => performance.timeOrigin + performance.now()) {
    this.#now = now;
  }

  /** Records an instantaneous fault (e.g. SIGKILL). */
  mark(label: string, kind: string): FaultMarker {
    const marker = { atEpochMs: this.#now(), label, kind };
    this.#markers.push(marker);
    return marker;
  }

  /** Records the start of a lasting fault; call the returned function when it is lifted. */
  begin(label: string, kind: string): () => void {
    const marker = this.mark(label, kind);
    return () => {
      marker.endEpochMs ??= this.#now();
    };
  }

  markers(): FaultMarker[] {
    return this.#markers.map((m) => ({ ...m }));
  }
}
