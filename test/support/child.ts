/** Starts a server child process for a test and stops it (SIGTERM, then SIGKILL) afterwards. */
import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process";

export interface ChildHandle {
  proc: ChildProcess;
  /** the last output lines, for error messages */
  output(): string;
  stop(timeoutMs?: number): Promise<void>;
}

export function startChild(cmd: string, args: string[], opts: SpawnOptions = {}): ChildHandle {
  const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...opts });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(chunk.toString());
    if (lines.length > 50) lines.shift();
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve();
    else proc.once("exit", () => resolve());
  });
  return {
    proc,
    output: () => lines.join(""),
    async stop(timeoutMs = 5000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
