/**
 * Runs a long-lived role (control plane, data plane) until SIGTERM/SIGINT, then drains it:
 * close() and exit 0. A second signal, or a close() that takes too long, exits at once.
 * Started by `corral dev` (with an IPC channel): the parent's death counts as SIGTERM.
 */
import type { CliIo } from "./io.ts";

export interface RunningProcess {
  close(): Promise<void>;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** longest close() may take before the process exits anyway */
const CLOSE_DEADLINE_MS = 60_000;

export function isConfigError(err: unknown): err is Error & { problems: string[] } {
  return (
    typeof err === "object" &&
    err !== null &&
    (err as { code?: unknown }).code === "CORRAL_CONFIG_INVALID" &&
    Array.isArray((err as { problems?: unknown }).problems)
  );
}

/** Exit code for an error raised while starting: 2 for invalid configuration (problems listed), 1 otherwise. */
export function reportStartError(command: string, err: unknown, io: CliIo): number {
  if (isConfigError(err)) {
    io.err(`corral ${command}: invalid configuration:\n${err.problems.map((p) => `  ${p}`).join("\n")}\n`);
    return EXIT_USAGE;
  }
  io.err(`corral ${command}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT_FAILURE;
}

/** Starts the role; resolves with an exit code if it could not start, or undefined once it runs. */
export async function runRole(
  command: string,
  start: () => Promise<RunningProcess>,
  io: CliIo,
): Promise<number | undefined> {
  let running: RunningProcess;
  try {
    running = await start();
  } catch (err) {
    return reportStartError(command, err, io);
  }
  stopOnSignals(command, running, io);
  return undefined;
}

function stopOnSignals(command: string, running: RunningProcess, io: CliIo): void {
  let closing = false;
  const stop = (why: string) => {
    if (closing) {
      io.err(`corral ${command}: ${why} again, exiting without waiting\n`);
      process.exit(EXIT_FAILURE);
    }
    closing = true;
    setTimeout(() => {
      io.err(`corral ${command}: close() did not finish in ${CLOSE_DEADLINE_MS} ms\n`);
      process.exit(EXIT_FAILURE);
    }, CLOSE_DEADLINE_MS).unref();
    running.close().then(
      () => process.exit(EXIT_OK),
      (err) => {
        io.err(`corral ${command}: close failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(EXIT_FAILURE);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  if (process.channel) {
    process.channel.unref();
    process.once("disconnect", () => stop("parent gone"));
  }
}
