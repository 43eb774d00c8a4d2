import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { LoadtestError } from "../errors.ts";

/**
 * Starts a helper process that prints one JSON line on stdout when ready (e.g.
 * {"url": …, "pid": …}) and returns that line with a stop() that sends SIGTERM,
 * then SIGKILL after a grace period. Stderr is kept (bounded) for error messages.
 */
export type StartedChild<T> = { child: ChildProcess; pid: number; ready: T; stop(): Promise<void> };

export type ChildSpec = {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** how long to wait for the ready line */
  timeoutMs?: number;
  /** parse the ready line; default JSON.parse of the first stdout line */
  ready?: (line: string) => unknown;
};

const MAX_STDERR = 8192;

/** Runs a TypeScript module of this repository in a fresh Node (the one running us). */
export function nodeScript(path: URL, args: string[] = []): ChildSpec {
  return { command: process.execPath, args: [path.pathname, ...args] };
}

export async function startChild<T>(spec: ChildSpec): Promise<StartedChild<T>> {
  const child = spawn(spec.command, spec.args, {
    env: spec.env ?? process.env,
    cwd: spec.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-MAX_STDERR);
  });
  const describe = `${spec.command} ${spec.args.join(" ")}`;
  try {
    const line = await firstLine(child, spec.timeoutMs ?? 10_000);
    const ready = (spec.ready ?? JSON.parse)(line) as T;
    return { child, pid: child.pid!, ready, stop: () => stopChild(child) };
  } catch (err) {
    child.kill("SIGKILL");
    throw new LoadtestError(
      "CORRAL_LOADTEST_PROCESS_START",
      `${describe}: ${(err as Error).message}\n${stderr}`,
    );
  }
}

function firstLine(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`not ready within ${timeoutMs} ms`)), timeoutMs);
    lines.once("line", (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited early (code ${code}, signal ${signal})`));
    });
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** SIGTERM, then SIGKILL after 3 s; resolves once the process has exited. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
