/**
 * One child process of a local platform: a Node script with its own environment, its output
 * appended to a log file line by line, restartable, stopped with SIGTERM then SIGKILL.
 *
 * Children run in their own process group, so a Ctrl-C in the terminal reaches only the parent,
 * which then stops them in order (data planes, control planes, then what they depend on).
 * They get an IPC channel they never use for messages: when the parent dies, however it dies,
 * the channel closes and the child shuts itself down, so no orphan keeps a port.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { createInterface } from "node:readline";

export type Env = Record<string, string>;

export interface ChildSpec {
  name: string;
  /** script and its arguments, run with this process's Node */
  args: string[];
  env: Env;
  cwd: string;
  logFile: string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildListener {
  /** every output line, after it went to the log file */
  line?(child: ManagedChild, line: string, stream: "stdout" | "stderr"): void;
  /** an exit nobody asked for (not stop() or restart()) */
  unexpectedExit?(child: ManagedChild, exit: ExitInfo): void;
}

const RECENT_LINES = 40;
export const DEFAULT_STOP_GRACE_MS = 5000;

export class ManagedChild {
  readonly spec: ChildSpec;
  #listener: ChildListener;
  #proc: ChildProcess | undefined;
  #exited: Promise<ExitInfo> = Promise.resolve({ code: null, signal: null });
  #stopping = false;
  #log: WriteStream | undefined;
  #recent: string[] = [];
  #lastExit: ExitInfo | undefined;
  #lineWatchers = new Set<(line: string) => void>();

  constructor(spec: ChildSpec, listener: ChildListener = {}) {
    this.spec = spec;
    this.#listener = listener;
  }

  get name(): string {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.running ? this.#proc?.pid : undefined;
  }

  get running(): boolean {
    return this.#proc !== undefined && this.#proc.exitCode === null && this.#proc.signalCode === null;
  }

  get lastExit(): ExitInfo | undefined {
    return this.#lastExit;
  }

  /** Spawns the process (the log file is truncated on the first start, appended to after). */
  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.#log ??= createWriteStream(this.spec.logFile, { flags: "w" }).on("error", (err) => {
      this.#recent.push(`(log file ${this.spec.logFile} failed: ${err.message})`);
      this.#log = undefined;
    });
    this.#stopping = false;
    const proc = spawn(process.execPath, this.spec.args, {
      cwd: this.spec.cwd,
      env: this.spec.env,
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      detached: true,
    });
    this.#proc = proc;
    this.#exited = new Promise((resolve) => {
      proc.once("exit", (code, signal) => resolve(this.#onExit({ code, signal })));
      proc.once("error", (err) => {
        this.#record(`failed to start: ${err.message}`, "stderr");
        resolve(this.#onExit({ code: null, signal: null }));
      });
    });
    this.#pipe(proc, "stdout");
    this.#pipe(proc, "stderr");
  }

  #pipe(proc: ChildProcess, stream: "stdout" | "stderr"): void {
    const source = proc[stream];
    if (!source) return;
    createInterface({ input: source, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) =>
      this.#record(line, stream),
    );
  }

  #record(line: string, stream: "stdout" | "stderr"): void {
    this.#log?.write(`${line}\n`);
    this.#recent.push(line);
    if (this.#recent.length > RECENT_LINES) this.#recent.shift();
    this.#listener.line?.(this, line, stream);
    for (const watch of this.#lineWatchers) watch(line);
  }

  #onExit(exit: ExitInfo): ExitInfo {
    this.#lastExit = exit;
    if (!this.#stopping) this.#listener.unexpectedExit?.(this, exit);
    return exit;
  }

  /** Sends a signal; returns false when the process is not running. */
  kill(signal: NodeJS.Signals = "SIGTERM"): boolean {
    return this.running ? this.#proc!.kill(signal) : false;
  }

  waitExit(): Promise<ExitInfo> {
    return this.#exited;
  }

  /** SIGTERM, then SIGKILL after graceMs. Resolves once the process is gone. */
  async stop(graceMs = DEFAULT_STOP_GRACE_MS): Promise<ExitInfo | undefined> {
    if (!this.running) return this.#lastExit;
    this.#stopping = true;
    this.#proc!.kill("SIGTERM");
    const timer = setTimeout(() => this.kill("SIGKILL"), graceMs);
    try {
      return await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the process if it runs, then starts it again with the same spec. */
  async restart(graceMs = DEFAULT_STOP_GRACE_MS): Promise<void> {
    await this.stop(graceMs);
    this.#record(`--- restarted by the platform at ${new Date().toISOString()} ---`, "stdout");
    this.start();
  }

  /** The last output lines, for error messages. */
  recentOutput(): string {
    return this.#recent.join("\n");
  }

  /** Resolves with the first JSON output line that `match` accepts; rejects if the process exits first. */
  waitForJsonLine(
    match: (obj: Record<string, unknown>) => boolean,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const onAbort = () => finish(() => reject(signal!.reason));
      const finish = (settle: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#lineWatchers.delete(watch);
        settle();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const watch = (line: string) => {
        const obj = parseJsonLine(line);
        if (obj && match(obj)) finish(() => resolve(obj));
      };
      this.#lineWatchers.add(watch);
      const timer = setTimeout(
        () => finish(() => reject(this.failure(`not ready after ${timeoutMs} ms`))),
        timeoutMs,
      );
      this.#exited.then((exit) => finish(() => reject(this.failure(exitText(exit)))));
    });
  }

  /** An error naming this child, with its recent output. */
  failure(what: string): Error {
    return new Error(`${this.name}: ${what}; log ${this.spec.logFile}; last output:\n${this.recentOutput()}`);
  }

  /** Closes the log file (after the process is gone). */
  async closeLog(): Promise<void> {
    const log = this.#log;
    this.#log = undefined;
    if (log) await new Promise((resolve) => log.end(resolve));
  }
}

export function parseJsonLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const value = JSON.parse(line);
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

export function exitText(exit: ExitInfo): string {
  if (exit.signal) return `exited on signal ${exit.signal}`;
  return exit.code === null ? "could not be started" : `exited with code ${exit.code}`;
}
