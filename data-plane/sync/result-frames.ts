/**
 * Which apply outcomes the control plane hears about (pure). Welcome/Announce always get an
 * Ack or a Nack. Pulls and boot get an Ack only when they changed the version; a pull that read
 * a blob and refused it gets a Nack, once per (version, code) in a row. Fetch failures of pulls
 * travel in Status.fetchError instead.
 */
import type { SyncFrame } from "../../proto/gen/corral/sync/v1/sync.ts";
import type { ApplyOutcome } from "../config-client/config-applier.ts";

const MAX_NACK_TEXT = 512;

export class ResultFrames {
  private lastPullNack = "";

  frameFor(outcome: ApplyOutcome): SyncFrame | undefined {
    const fromCp = outcome.trigger.kind === "welcome" || outcome.trigger.kind === "announce";
    if (outcome.ok) {
      if (outcome.trigger.kind === "pull") this.lastPullNack = "";
      if (!fromCp && !outcome.changed) return undefined;
      return { ack: { version: outcome.version, applyMs: Math.min(outcome.applyMs, 0xffffffff) } };
    }
    if (!fromCp) {
      if (outcome.trigger.kind !== "pull" || outcome.fetchFailed) return undefined;
      const key = `${outcome.version}/${outcome.error.code}`;
      if (key === this.lastPullNack) return undefined;
      this.lastPullNack = key;
    }
    const error = `${outcome.error.code}: ${outcome.error.message}`.slice(0, MAX_NACK_TEXT);
    return { nack: { version: outcome.version, error } };
  }
}
