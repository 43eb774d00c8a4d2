/**
 * What the node knows about itself, for /status, /readyz, metrics and the Status frame.
 *
 * Config age: time since the node last knew its config was the newest, which only the control
 * plane can say: a successful apply of a Welcome/Announce, and any contact from the control plane
 * while the node holds at least the version the control plane last named. With the control plane
 * gone the age grows (the node keeps serving: staleness is reported, never acted on).
 */
import type { Timers } from "./clock.ts";
import type { ApplyOutcome } from "./config-client/config-applier.ts";
import type { ErrorInfo } from "./errors.ts";
import type { LiveConfig } from "./router/live-config.ts";

export interface ErrorRecord extends ErrorInfo {
  version: number;
  trigger: string;
  atMs: number;
}

export interface NodeStatusView {
  slot: string;
  zone: string;
  ready: boolean;
  version: number;
  epoch: number;
  tenants: number;
  configAgeMs: number | null;
  lastAppliedAtMs: number | null;
  lastError: ErrorRecord | null;
  fetchError: string | null;
  connected: boolean;
  cpVersion: number;
  inflight: number;
  shed: number;
  draining: boolean;
}

export class NodeState {
  readonly slot: string;
  readonly zone: string;
  private readonly timers: Timers;
  private live: LiveConfig | undefined;
  private confirmedAtMs = 0;
  private lastAppliedAtMs: number | null = null;
  lastError: ErrorRecord | null = null;
  fetchError: string | null = null;
  connected = false;
  /** highest version the control plane named on this node's connections */
  cpVersion = 0;
  inflight = 0;
  shed = 0;
  draining = false;

  constructor(slot: string, zone: string, timers: Timers) {
    this.slot = slot;
    this.zone = zone;
    this.timers = timers;
  }

  config(): LiveConfig | undefined {
    return this.live;
  }

  install(config: LiveConfig): void {
    this.live = config;
    this.lastAppliedAtMs = this.timers.now();
  }

  get version(): number {
    return this.live?.version ?? 0;
  }

  get ready(): boolean {
    return this.live !== undefined && !this.draining;
  }

  /**
   * Record of an apply; the control plane's triggers also confirm freshness. An empty disk
   * cache is the normal first boot, not an error.
   */
  recordOutcome(outcome: ApplyOutcome): void {
    const cpTrigger = outcome.trigger.kind === "welcome" || outcome.trigger.kind === "announce";
    if (outcome.ok) {
      if (cpTrigger) this.confirmedAtMs = this.timers.now();
      if (outcome.trigger.kind !== "boot") this.fetchError = null;
      if (outcome.cacheError) this.recordError(outcome.cacheError, outcome);
      return;
    }
    if (outcome.error.code !== "CORRAL_DP_CONFIG_NO_CACHE") this.recordError(outcome.error, outcome);
    if (outcome.fetchFailed && outcome.trigger.kind !== "boot") this.fetchError = outcome.error.message;
  }

  private recordError(error: ErrorInfo, outcome: ApplyOutcome): void {
    this.lastError = {
      ...error,
      version: outcome.version,
      trigger: outcome.trigger.kind,
      atMs: this.timers.now(),
    };
  }

  noteCpVersion(version: number): void {
    if (version > this.cpVersion) this.cpVersion = version;
  }

  /** Any frame, ping or pong from the control plane. */
  contact(): void {
    if (this.live && this.live.version >= this.cpVersion) this.confirmedAtMs = this.timers.now();
  }

  configAgeMs(): number | null {
    if (!this.live) return null;
    return Math.max(0, this.timers.now() - Math.max(this.confirmedAtMs, this.live.createdAtMs));
  }

  view(): NodeStatusView {
    return {
      slot: this.slot,
      zone: this.zone,
      ready: this.ready,
      version: this.version,
      epoch: this.live?.epoch ?? 0,
      tenants: this.live?.tenantCount ?? 0,
      configAgeMs: this.configAgeMs(),
      lastAppliedAtMs: this.lastAppliedAtMs,
      lastError: this.lastError,
      fetchError: this.fetchError,
      connected: this.connected,
      cpVersion: this.cpVersion,
      inflight: this.inflight,
      shed: this.shed,
      draining: this.draining,
    };
  }
}
