/** `corral dev` as a test runs it: a child on free ports in a given directory, its output kept. */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { poll } from "./poll.ts";

export const CORRAL_BIN = fileURLToPath(new URL("../../bin/corral.ts", import.meta.url));
const READY_TIMEOUT_MS = 45_000;

export interface DevRun {
  proc: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** This process's environment without CORRAL_* settings (corral dev chooses its own). */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith("CORRAL_")) env[k] = v;
  return env;
}

/** Starts `corral dev --free-ports` in `cwd`; resolves once it printed that it is ready. */
export async function startDev(cwd: string): Promise<DevRun> {
  const proc = spawn(process.execPath, [CORRAL_BIN, "dev", "--free-ports"], { cwd, env: cleanEnv() });
  let out = "";
  proc.stdout!.on("data", (c) => (out += c));
  proc.stderr!.on("data", (c) => (out += c));
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const run = { proc, output: () => out, exited };
  const ready = () => out.includes("corral dev is ready");
  try {
    await poll(
      "corral dev ready (or exited)",
      () => ready() || proc.exitCode !== null,
      READY_TIMEOUT_MS,
      100,
    );
  } catch (err) {
    proc.kill("SIGINT");
    throw new Error(`${(err as Error).message}:\n${out}`);
  }
  if (!ready()) throw new Error(`corral dev exited ${proc.exitCode}:\n${out}`);
  return run;
}

/** Ctrl-C, and waits for it to exit. */
export async function stopDev(run: DevRun | undefined): Promise<void> {
  if (!run || run.proc.exitCode !== null) return;
  run.proc.kill("SIGINT");
  await run.exited;
}
