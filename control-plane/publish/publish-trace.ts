/**
 * Where a publish spends its time (issue 14): marks taken along the publish path, each phase
 * the time since the previous mark. The publisher observes every phase into
 * corral_publish_phase_seconds{phase} and logs them with the version, so a slow propagation
 * can be split into debounce, reading and compiling, compressing, signing, the blob write,
 * the version row, the announce to the nodes and the LATEST pointer. Pure apart from the clock.
 */
export const PUBLISH_PHASES = [
  /** first change request -> the publish starts (debounce and waiting behind another publish) */
  "wait",
  /** the fleet's plans, slots, nodes and settings */
  "parts",
  /** every tenant's config revision */
  "revisions",
  /** loading and encoding the changed tenants, checking and assembling the payload */
  "compile",
  /** the rest of the read transaction (version number, change counter, commit) */
  "transaction",
  "compress",
  /** payload digest, framing into the capacity-sized blob, signature, blob digest */
  "sign",
  "blob",
  /** the version row under the lease's fence */
  "record",
  /** the version offered to the feed: Announce frames to every connected node */
  "announce",
  "latest",
] as const;

export type PublishPhase = (typeof PUBLISH_PHASES)[number];

export class PublishTrace {
  readonly #now: () => number;
  #last: number;
  readonly phases: Partial<Record<PublishPhase, number>> = {};

  /** `since`: when the wait began (the first change request), else now */
  constructor(now: () => number = () => performance.now(), since?: number) {
    this.#now = now;
    this.#last = since ?? now();
  }

  /** ends `phase` now (a phase marked twice adds up) */
  mark(phase: PublishPhase): void {
    const t = this.#now();
    this.phases[phase] = (this.phases[phase] ?? 0) + (t - this.#last);
    this.#last = t;
  }

  /** the phases in milliseconds, rounded to 0.1 ms, for a log line */
  summary(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const p of PUBLISH_PHASES) {
      const ms = this.phases[p];
      if (ms !== undefined) out[p] = Math.round(ms * 10) / 10;
    }
    return out;
  }
}
