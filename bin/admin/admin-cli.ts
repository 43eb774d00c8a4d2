/** `corral admin`: parses the command line, finds the control plane and token, runs one command. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig, str, url } from "../../runtime/env-config.ts";
import type { CliIo } from "../cli/io.ts";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, reportStartError } from "../cli/run-role.ts";
import { ADMIN_USAGE } from "../cli/usage.ts";
import { AdminApiError, AdminClient } from "./admin-client.ts";
import { ADMISSION_COMMANDS } from "./admission-commands.ts";
import { COMMANDS as CONFIG_COMMANDS, type Options, UsageError } from "./admin-commands.ts";
import { USAGE_PLAN_COMMANDS } from "./usage-plan-commands.ts";

const COMMANDS = { ...CONFIG_COMMANDS, ...USAGE_PLAN_COMMANDS, ...ADMISSION_COMMANDS };

const OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  help: { type: "boolean", short: "h" },
  "idempotency-key": { type: "string" },
  limit: { type: "string" },
  cursor: { type: "string" },
  all: { type: "boolean" },
  name: { type: "string" },
  plan: { type: "string" },
  status: { type: "string" },
  scope: { type: "string", multiple: true },
  target: { type: "string", multiple: true },
  "connect-timeout-ms": { type: "string" },
  weight: { type: "string", multiple: true },
  "health-check": { type: "string" },
  "health-path": { type: "string" },
  "health-service": { type: "string" },
  "health-interval-ms": { type: "string" },
  "health-timeout-ms": { type: "string" },
  "healthy-threshold": { type: "string" },
  "unhealthy-threshold": { type: "string" },
  "eject-after": { type: "string" },
  "base-ejection-ms": { type: "string" },
  "max-ejection-ms": { type: "string" },
  "max-ejected-percent": { type: "string" },
  "slow-start-ms": { type: "string" },
  path: { type: "string" },
  upstream: { type: "string" },
  host: { type: "string", multiple: true },
  method: { type: "string", multiple: true },
  "timeout-ms": { type: "string" },
  protocol: { type: "string" },
  "strip-prefix": { type: "boolean" },
  retries: { type: "string" },
  "retry-status": { type: "string", multiple: true },
  "budget-percent": { type: "string" },
  "budget-min-per-second": { type: "string" },
  "budget-window-ms": { type: "string" },
  websocket: { type: "boolean" },
  "ws-idle-timeout-ms": { type: "string" },
  "ws-max-connections": { type: "string" },
  "ws-max-message-bytes": { type: "string" },
  "stream-idle-timeout-ms": { type: "string" },
  public: { type: "boolean" },
  idempotency: { type: "boolean" },
  "client-rate": { type: "string" },
  "client-burst": { type: "string" },
  "client-limits": { type: "boolean" },
  role: { type: "string" },
  "expires-at": { type: "string" },
  allow: { type: "string", multiple: true },
  rate: { type: "string" },
  burst: { type: "string" },
  concurrency: { type: "string" },
  priority: { type: "string" },
  "shard-size": { type: "string" },
  quota: { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
  granularity: { type: "string" },
  period: { type: "string" },
  q: { type: "string" },
  "max-inflight": { type: "string" },
  "max-event-loop-delay-ms": { type: "string" },
  "shed-shadow": { type: "boolean" },
  "shed-disabled": { type: "boolean" },
  "rate-shadow": { type: "boolean" },
  "rate-disabled": { type: "boolean" },
  "quota-shadow": { type: "boolean" },
  "quota-disabled": { type: "boolean" },
} as const;

const CONNECTION_OPTIONS = new Set(["url", "token", "help", "idempotency-key"]);

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
    parsed = parseArgs({
      args: argv,
      options: OPTIONS,
      allowPositionals: true,
      allowNegative: true, // --no-public etc.: a boolean option switched off
      strict: true,
    });
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
