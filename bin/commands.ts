/**
 * Command dispatch of the `corral` binary. Resolves with an exit code, or undefined while a role
 * runs. The commands (admin/, dev/) and this file share cli/ (io, exit codes, usage).
 */
import type { Schema } from "../runtime/env-config.ts";
import { deriveNodeCredential } from "../proto/node-credential.ts";
import { generateSigningKeyPair } from "../proto/signing-keys.ts";
import type { CliIo } from "./cli/io.ts";
import { EXIT_OK, EXIT_USAGE, reportStartError, runRole } from "./cli/run-role.ts";
import { USAGE } from "./cli/usage.ts";

const HELP_FLAGS = new Set(["--help", "-h", "help"]);

export async function runCli(argv: string[], io: CliIo): Promise<number | undefined> {
  const [command, ...rest] = argv;
  if (command === undefined) return usageError("no command given", io);
  if (HELP_FLAGS.has(command)) {
    io.out(USAGE);
    return EXIT_OK;
  }
  switch (command) {
    case "keygen":
      return rest.length > 0 ? usageError("keygen takes no arguments", io) : keygen(io);
    case "node-credential":
      return nodeCredential(rest, io);
    case "control-plane":
      return roleCommand(command, rest, io);
    case "data-plane":
      return roleCommand(command, rest, io);
    case "migrate":
      return migrateCommand(rest, io);
    case "dev":
      return (await import("./dev/dev-command.ts")).runDevCommand(rest, io);
    case "admin":
      return (await import("./admin/admin-cli.ts")).runAdmin(rest, io);
    case "ws":
      return (await import("./cli/ws-client.ts")).runWsClient(rest, io);
    default:
      return usageError(`unknown command ${JSON.stringify(command)}`, io);
  }
}

export function usageError(message: string, io: CliIo, usage = USAGE): number {
  io.err(`corral: ${message}\n\n${usage}`);
  return EXIT_USAGE;
}

function keygen(io: CliIo): number {
  const pair = generateSigningKeyPair();
  io.out(`CORRAL_SIGNING_KEY=${pair.privateKey}\nCORRAL_VERIFY_KEY=${pair.publicKey}\n`);
  return EXIT_OK;
}

/** `corral node-credential <slot>`: the slot's CORRAL_NODE_TOKEN, from CORRAL_NODE_SECRET in the environment. */
function nodeCredential(rest: string[], io: CliIo): number {
  if (rest.length !== 1) return usageError("node-credential takes one slot name", io);
  const secret = io.env.CORRAL_NODE_SECRET;
  if (!secret)
    return usageError("node-credential reads the fleet secret from CORRAL_NODE_SECRET, which is not set", io);
  try {
    io.out(`CORRAL_NODE_TOKEN=${deriveNodeCredential(secret, rest[0]!)}\n`);
    return EXIT_OK;
  } catch (err) {
    return usageError((err as Error).message, io);
  }
}

async function roleCommand(
  command: "control-plane" | "data-plane",
  rest: string[],
  io: CliIo,
): Promise<number | undefined> {
  if (rest.length === 1 && HELP_FLAGS.has(rest[0]!)) return settingsHelp(command, io);
  if (rest.length > 0)
    return usageError(`${command} takes no arguments (settings are CORRAL_* variables)`, io);
  if (command === "control-plane") {
    const { runControlPlane } = await import("../control-plane/main.ts");
    return runRole(command, () => runControlPlane(io.env), io);
  }
  const { runDataPlane } = await import("../data-plane/main.ts");
  return runRole(command, () => runDataPlane(io.env), io);
}

async function migrateCommand(rest: string[], io: CliIo): Promise<number> {
  if (rest.length === 1 && HELP_FLAGS.has(rest[0]!)) {
    io.out(
      "Usage: corral migrate\n\nRuns pending control-plane migrations against CORRAL_PG_URL, then exits.\n",
    );
    return EXIT_OK;
  }
  if (rest.length > 0) return usageError("migrate takes no arguments", io);
  try {
    const { runMigrations } = await import("../control-plane/main.ts");
    await runMigrations(io.env);
    return EXIT_OK;
  } catch (err) {
    return reportStartError("migrate", err, io);
  }
}

/** Lists a role's CORRAL_* settings from its own schema. */
async function settingsHelp(command: "control-plane" | "data-plane", io: CliIo): Promise<number> {
  const schema: Schema =
    command === "control-plane"
      ? (await import("../control-plane/config.ts")).controlPlaneSchema(io.cwd)
      : (await import("../data-plane/config.ts")).dataPlaneSchema(io.cwd);
  const lines = Object.entries(schema).map(([name, s]) => {
    const shown =
      s.default === undefined
        ? "required"
        : s.secret || s.default === ""
          ? "optional"
          : `default ${String(s.default)}`;
    return `  ${name.padEnd(26)} ${s.doc} (${shown})`;
  });
  io.out(`Usage: corral ${command}\n\nSettings (environment variables):\n${lines.join("\n")}\n`);
  return EXIT_OK;
}
