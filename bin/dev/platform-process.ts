/** A platform process as tests and the dev runner see it: a child plus how to tell it is ready. */
import type { ExitInfo, ManagedChild } from "./managed-child.ts";

export type Role = "postgres" | "upstreams" | "control-plane" | "data-plane";

export interface ProcessHandle {
  readonly name: string;
  readonly role: Role;
  /** undefined while not running */
  readonly pid: number | undefined;
  readonly running: boolean;
  readonly logFile: string;
  /** sends a signal (default SIGTERM) without waiting; false when not running */
  kill(signal?: NodeJS.Signals): boolean;
  /** resolves when the current process exits */
  waitExit(): Promise<ExitInfo>;
  /** SIGTERM, SIGKILL after the grace period; resolves once gone */
  stop(graceMs?: number): Promise<void>;
  /** starts a stopped or killed process again; resolves once it is ready */
  start(): Promise<void>;
  /** stop() then start() */
  restart(): Promise<void>;
  /** the last output lines */
  recentOutput(): string;
}

export class PlatformProcess implements ProcessHandle {
  readonly role: Role;
  readonly #child: ManagedChild;
  readonly #ready: (child: ManagedChild) => Promise<void>;
  readonly #graceMs: number;

  constructor(
    role: Role,
    child: ManagedChild,
    ready: (child: ManagedChild) => Promise<void>,
    graceMs: number,
  ) {
    this.role = role;
    this.#child = child;
    this.#ready = ready;
    this.#graceMs = graceMs;
  }

  get name(): string {
    return this.#child.name;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#child.running;
  }

  get logFile(): string {
    return this.#child.spec.logFile;
  }

  kill(signal: NodeJS.Signals = "SIGTERM"): boolean {
    return this.#child.kill(signal);
  }

  waitExit(): Promise<ExitInfo> {
    return this.#child.waitExit();
  }

  async stop(graceMs = this.#graceMs): Promise<void> {
    await this.#child.stop(graceMs);
  }

  async start(): Promise<void> {
    this.#child.start();
    await this.#ready(this.#child);
  }

  async restart(): Promise<void> {
    await this.#child.restart(this.#graceMs);
    await this.#ready(this.#child);
  }

  recentOutput(): string {
    return this.#child.recentOutput();
  }

  /** Stops the process and closes its log file (end of the platform). */
  async dispose(graceMs = this.#graceMs): Promise<void> {
    await this.#child.stop(graceMs);
    await this.#child.closeLog();
  }
}

const STOP_ORDER: readonly Role[] = ["data-plane", "control-plane", "upstreams", "postgres"];

/** Stops data planes first (so they do not chase a vanishing control plane), then the control planes, then the rest. */
export async function disposeAll(processes: readonly PlatformProcess[], graceMs?: number): Promise<void> {
  for (const role of STOP_ORDER) {
    await Promise.all(processes.filter((p) => p.role === role).map((p) => p.dispose(graceMs)));
  }
}
