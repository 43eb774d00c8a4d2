/**
 * The one apply path, for every trigger (boot from the disk cache, Welcome, Announce, periodic
 * pull): fetch + verify + decode + validate + index (the loader: in the worker) -> carry over
 * unchanged decoded tenants -> atomic swap -> persist to the disk cache (the loader again) ->
 * outcome (Ack/Nack). Content this node already serves comes back as a header only: nothing is
 * swapped. One apply at a time; triggers arriving meanwhile coalesce into one
 * (version-policy.ts). A failure changes nothing that is served.
 */
import type { Timers } from "../clock.ts";
import { ConfigApplyError, configErrorInfo, type ErrorInfo } from "../errors.ts";
import { LiveConfig } from "../router/live-config.ts";
import { plainTenant } from "./validate-snapshot.ts";
import type { LoadedSnapshot } from "./snapshot-job.ts";
import type { SnapshotLoader } from "./snapshot-loader.ts";
import { type ApplyTrigger, coalesce } from "./version-policy.ts";

export type ApplyOutcome =
  | {
      ok: true;
      trigger: ApplyTrigger;
      version: number;
      /** false when the blob was the served version again (re-verified, nothing swapped) */
      changed: boolean;
      applyMs: number;
      /** set when the config is live but could not be written to the disk cache */
      cacheError?: ErrorInfo;
    }
  | {
      ok: false;
      trigger: ApplyTrigger;
      /** the version the trigger or LATEST named (0 when unknown) */
      version: number;
      error: ErrorInfo;
      /** the source could not be read at all (as opposed to: a blob was read and refused) */
      fetchFailed: boolean;
      applyMs: number;
    };

export interface LiveConfigSlot {
  current(): LiveConfig | undefined;
  install(config: LiveConfig): void;
}

export interface ConfigApplierDeps {
  loader: SnapshotLoader;
  maxCapacity: number;
  live: LiveConfigSlot;
  timers: Timers;
  onOutcome: (outcome: ApplyOutcome) => void;
}

const FETCH_FAILURES = new Set(["CORRAL_DP_CONFIG_FETCH", "CORRAL_DP_CONFIG_NO_CACHE"]);

export class ConfigApplier {
  private readonly deps: ConfigApplierDeps;
  private waiting: ApplyTrigger | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private persistedVersion = 0;

  constructor(deps: ConfigApplierDeps) {
    this.deps = deps;
  }

  /** Queues an apply; returns at once. Outcomes arrive through onOutcome. */
  request(trigger: ApplyTrigger): void {
    if (this.closed) return;
    this.waiting = coalesce(this.waiting, trigger);
    this.running ??= this.drain();
  }

  /** Resolves when nothing runs or waits (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiting = undefined;
    await this.idle();
  }

  private async drain(): Promise<void> {
    try {
      while (this.waiting && !this.closed) {
        const trigger = this.waiting;
        this.waiting = undefined;
        this.deps.onOutcome(await this.applyOnce(trigger));
      }
    } finally {
      this.running = undefined;
    }
  }

  private async applyOnce(trigger: ApplyTrigger): Promise<ApplyOutcome> {
    const { timers, live } = this.deps;
    const started = timers.monotonic();
    const elapsed = () => Math.round(timers.monotonic() - started);
    let named = trigger.version;
    try {
      const served = live.current();
      const loaded = await this.deps.loader.load({
        trigger,
        maxCapacity: this.deps.maxCapacity,
        served: served && { version: served.version, digestHex: served.digestHex },
      });
      named = loaded.namedVersion ?? named;
      if (loaded.outcome === "new") live.install(await this.build(loaded, served));
      const cacheError = await this.persist(trigger, loaded);
      const version = loaded.header.version;
      return {
        ok: true,
        trigger,
        version,
        changed: loaded.outcome === "new",
        applyMs: elapsed(),
        cacheError,
      };
    } catch (err) {
      named = (err as { namedVersion?: number }).namedVersion ?? named;
      const error = configErrorInfo(err);
      const fetchFailed = FETCH_FAILURES.has(error.code);
      return { ok: false, trigger, version: named ?? 0, error, fetchFailed, applyMs: elapsed() };
    }
  }

  private async build(
    loaded: Extract<LoadedSnapshot, { outcome: "new" }>,
    served: LiveConfig | undefined,
  ): Promise<LiveConfig> {
    const config = new LiveConfig(loaded.index, plainTenant);
    await config.adopt(served);
    if (this.closed) throw new ConfigApplyError("CORRAL_DP_CONFIG_CLOSED", "node is shutting down");
    return config;
  }

  /** Writes the blob unless the cache already holds this version; a boot blob came from there. */
  private async persist(trigger: ApplyTrigger, loaded: LoadedSnapshot): Promise<ErrorInfo | undefined> {
    const version = loaded.header.version;
    if (trigger.kind === "boot") this.persistedVersion = version;
    if (this.persistedVersion === version) return undefined;
    try {
      await this.deps.loader.persist(version);
      this.persistedVersion = version;
      return undefined;
    } catch (err) {
      return configErrorInfo(err);
    }
  }
}
