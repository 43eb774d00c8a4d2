/**
 * Publishes when the fleet changes by itself: a node joins or leaves, turns live or dead, or a
 * vanished slot reaches the end of its forget delay. Nothing writes a row when a forget delay
 * or liveness window runs out, so besides the sync server's connect/disconnect nudges the
 * watcher checks on a period. It compares the slot table the fleet has now with the one in
 * the last compiled snapshot (told by the compiler) and asks for a publish, once per distinct
 * table, when they differ. A replica that never compiled (not the publisher) asks for nothing.
 */
import type { Slot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import type { Logger } from "../logger.ts";
import { slotTableFingerprint } from "../placement/fleet-slots.ts";

export const DEFAULT_FLEET_CHECK_INTERVAL_MS = 5_000;

export interface FleetWatcherDeps {
  /** the slot table the fleet has now */
  currentSlots: () => Promise<Slot[]>;
  /** asks for a new version (debounced by the publisher) */
  requestPublish: () => void;
  logger: Logger;
  intervalMs?: number;
}

export class FleetWatcher {
  readonly #deps: FleetWatcherDeps;
  #compiled: string | undefined;
  #requested: string | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: FleetWatcherDeps) {
    this.#deps = deps;
  }

  /** Compile hook: the slot table of the snapshot just compiled. */
  compiled(slots: readonly Slot[]): void {
    this.#compiled = slotTableFingerprint(slots);
    this.#requested = undefined;
  }

  start(): void {
    this.#timer ??= setInterval(() => this.nudge(), this.#deps.intervalMs ?? DEFAULT_FLEET_CHECK_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Checks soon; calls during a check coalesce into one more check after it. */
  nudge(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#checkLoop().finally(() => {
      this.#running = undefined;
    });
  }

  /** Compares once; true when it asked for a publish. */
  async check(): Promise<boolean> {
    const compiled = this.#compiled;
    if (compiled === undefined) return false;
    const now = slotTableFingerprint(await this.#deps.currentSlots());
    if (now === compiled || now === this.#requested) return false;
    this.#requested = now;
    this.#deps.logger.info("fleet changed: publishing the new slot table");
    this.#deps.requestPublish();
    return true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  async #checkLoop(): Promise<void> {
    do {
      this.#again = false;
      await this.check().catch((err) => this.#deps.logger.warn({ err }, "could not check the fleet"));
    } while (this.#again && !this.#closed);
  }
}
