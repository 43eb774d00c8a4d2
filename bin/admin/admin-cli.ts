/** `corral admin`: parses the command line, finds the control plane and token, runs one command. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type ParseArgsOptionDescriptor, parseArgs } from "node:util";
import { loadConfig, str, url } from "../../runtime/env-config.ts";
import type { CliIo } from "../cli/io.ts";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, reportStartError } from "../cli/run-role.ts";
import { ADMIN_USAGE } from "../cli/usage.ts";
import { AdminApiError, AdminClient } from "./admin-client.ts";
import { ADMISSION_COMMANDS, SWITCHES as ADMISSION_SWITCHES } from "./admission-commands.ts";
import { COMMANDS as CONFIG_COMMANDS, type Options, UsageError } from "./admin-commands.ts";
import { USAGE_PLAN_COMMANDS } from "./usage-plan-commands.ts";

const COMMANDS = { ...CONFIG_COMMANDS, ...USAGE_PLAN_COMMANDS, ...ADMISSION_COMMANDS };

/** Options that are switches (no value) and options that may repeat; every other one takes a value. */
const FLAGS = new Set([
  "all",
  "strip-prefix",
  "websocket",
  "public",
  "idempotency",
  "client-limits",
  ...Object.keys(ADMISSION_SWITCHES),
]);
const REPEATABLE = new Set(["scope", "target", "weight", "host", "method", "retry-status", "allow"]);

const CONNECTION_OPTIONS = new Set(["url", "token", "help", "idempotency-key"]);

/** What the parser accepts: the connection options and every option some command takes. */
const OPTIONS: Record<string, ParseArgsOptionDescriptor> = Object.fromEntries(
  [...CONNECTION_OPTIONS, ...Object.values(COMMANDS).flatMap((c) => c.options)].map((name) => [
    name,
    FLAGS.has(name) ? { type: "boolean" } : { type: "string", multiple: REPEATABLE.has(name) },
  ]),
);
OPTIONS.help = { type: "boolean", short: "h" };

const ADMIN_ENV_SCHEMA = {
  CORRAL_ADMIN_URL: { parse: url(["http:", "https:"]), default: "", doc: "control plane base URL" },
  CORRAL_ADMIN_TOKEN: { parse: str, default: "", doc: "operator token", secret: true },
};

export interface Connection {
  url: string;
  token: string;
}

export async function runAdmin(argv: string[], io: CliIo): Promise<number> {
  let parsed: { values: Options; positionals: string[] };
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: OPTIONS,
      allowPositionals: true,
      allowNegative: true, // --no-public etc.: a boolean option switched off
      strict: true,
    });
    parsed = { values: values as Options, positionals };
  } catch (err) {
    return usage((err as Error).message, io);
  }
  if (parsed.values.help || parsed.positionals.length === 0) {
    (parsed.values.help ? io.out : io.err)(ADMIN_USAGE);
    return parsed.values.help ? EXIT_OK : EXIT_USAGE;
  }
  let connection: Connection;
  try {
    connection = await resolveConnection(parsed.values, io);
  } catch (err) {
    return err instanceof UsageError ? usage(err.message, io) : reportStartError("admin", err, io);
  }
  return runCommand(parsed.positionals, parsed.values, connection, io);
}

/** Flags, then CORRAL_ADMIN_URL / CORRAL_ADMIN_TOKEN, then .corral/dev.json of a running `corral dev`. */
export async function resolveConnection(values: Options, io: CliIo): Promise<Connection> {
  const env = loadConfig(ADMIN_ENV_SCHEMA, {
    CORRAL_ADMIN_URL: io.env.CORRAL_ADMIN_URL,
    CORRAL_ADMIN_TOKEN: io.env.CORRAL_ADMIN_TOKEN,
  });
  const dev = await readDevJson(io.cwd);
  const urlValue = (values.url as string | undefined) || env.CORRAL_ADMIN_URL || dev?.url;
  const token = (values.token as string | undefined) || env.CORRAL_ADMIN_TOKEN || dev?.token;
  if (!urlValue)
    throw new UsageError("no control plane: pass --url or set CORRAL_ADMIN_URL (or run corral dev here)");
  if (!token) throw new UsageError("no operator token: pass --token or set CORRAL_ADMIN_TOKEN");
  return { url: urlValue, token };
}

async function readDevJson(cwd: string): Promise<{ url?: string; token?: string } | undefined> {
  try {
    const dev = JSON.parse(await readFile(join(cwd, ".corral", "dev.json"), "utf8"));
    return { url: dev?.controlPlane?.url, token: dev?.controlPlane?.operatorToken };
  } catch {
    return undefined;
  }
}

async function runCommand(
  positionals: string[],
  values: Options,
  conn: Connection,
  io: CliIo,
): Promise<number> {
  const single = COMMANDS[positionals[0]!] ? positionals[0]! : undefined;
  const key = single ?? positionals.slice(0, 2).join(" ");
  const command = COMMANDS[key];
  if (!command) return usage(`unknown admin command ${JSON.stringify(key)}`, io);
  const args = positionals.slice(single ? 1 : 2);
  if (args.length !== command.args.length)
    return usage(`${key} expects ${command.args.map((a) => `<${a}>`).join(" ") || "no arguments"}`, io);
  const stray = Object.keys(values).filter((o) => !CONNECTION_OPTIONS.has(o) && !command.options.includes(o));
  if (stray.length > 0) return usage(`${key} does not take --${stray.join(", --")}`, io);
  const idempotencyKey = values["idempotency-key"] as string | undefined;
  if (idempotencyKey && !command.mutates)
    return usage(`${key} changes nothing: --idempotency-key does not apply`, io);
  const client = new AdminClient({ url: conn.url, token: conn.token, idempotencyKey });
  try {
    const result = await command.run(client, args, values);
    if (result !== undefined) io.out(`${JSON.stringify(result, null, 2)}\n`);
    else io.err(`ok: ${key}\n`);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof UsageError) return usage(err.message, io);
    io.err(`corral admin: ${describeFailure(err, conn.url)}\n`);
    return EXIT_FAILURE;
  }
}

function describeFailure(err: unknown, base: string): string {
  if (err instanceof AdminApiError) return err.message;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause) return `cannot reach the control plane at ${base} (${cause.code ?? cause.message})`;
  return err instanceof Error ? err.message : String(err);
}

function usage(message: string, io: CliIo): number {
  io.err(`corral admin: ${message}\n\n${ADMIN_USAGE}`);
  return EXIT_USAGE;
}
