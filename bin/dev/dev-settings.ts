/**
 * Settings of `corral dev`: CORRAL_DEV_* variables, each also a flag (`--cp-http-port 7400`
 * sets CORRAL_DEV_CP_HTTP_PORT; flags win). One schema, validated by runtime/env-config.ts.
 */
import { resolve } from "node:path";
import { bool, type ConfigOf, int, loadConfig, oneOf, port, str, url } from "../../runtime/env-config.ts";
import type { PortPlan } from "./ports.ts";
import { DEFAULT_PORTS } from "./ports.ts";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

function portSetting(defaultPort: number, doc: string) {
  return { parse: port, default: defaultPort, doc };
}

export function devSchema(cwd: string) {
  return {
    CORRAL_DEV_DIR: { parse: str, default: resolve(cwd, ".corral"), doc: "state directory" },
    CORRAL_DEV_HOST: { parse: str, default: "127.0.0.1", doc: "bind address of every process" },
    CORRAL_DEV_CP_HTTP_PORT: portSetting(DEFAULT_PORTS.cpHttp, "control plane HTTP port"),
    CORRAL_DEV_CP_GRPC_PORT: portSetting(DEFAULT_PORTS.cpGrpc, "control plane gRPC port"),
    CORRAL_DEV_DP_HTTP_PORT: portSetting(DEFAULT_PORTS.dpHttp, "first data plane's ingress port"),
    CORRAL_DEV_DP_GRPC_PORT: portSetting(DEFAULT_PORTS.dpGrpc, "first data plane's gRPC port"),
    CORRAL_DEV_DP_OPS_PORT: portSetting(DEFAULT_PORTS.dpOps, "first data plane's ops port"),
    CORRAL_DEV_UPSTREAM_HTTP_PORT: portSetting(DEFAULT_PORTS.upstreamHttp, "demo HTTP upstream port"),
    CORRAL_DEV_UPSTREAM_GRPC_PORT: portSetting(DEFAULT_PORTS.upstreamGrpc, "demo gRPC upstream port"),
    CORRAL_DEV_PG_PORT: portSetting(DEFAULT_PORTS.pg, "PGlite socket port"),
    CORRAL_DEV_FREE_PORTS: { parse: bool, default: false, doc: "use any free port for every process" },
    CORRAL_DEV_DATA_PLANES: { parse: int(1, 32), default: 3, doc: "number of data planes" },
    CORRAL_DEV_PG_URL: { parse: url(["postgres:", "postgresql:"]), default: "", doc: "external Postgres" },
    CORRAL_DEV_BLOB_URL: { parse: url(["file:", "s3:"]), default: "", doc: "blob store URL" },
    CORRAL_DEV_LOG_LEVEL: { parse: oneOf(LOG_LEVELS), default: "info", doc: "log level of the processes" },
    CORRAL_DEV_VERBOSE: { parse: bool, default: false, doc: "stream every child log line" },
    CORRAL_DEV_READY_TIMEOUT_MS: {
      parse: int(1000, 600_000),
      default: 60_000,
      doc: "start-up limit per step",
    },
  };
}

export type DevSettings = ConfigOf<ReturnType<typeof devSchema>>;

export class DevUsageError extends Error {}

const BOOLEAN_FLAGS = new Set(["CORRAL_DEV_FREE_PORTS", "CORRAL_DEV_VERBOSE"]);

export function flagToVariable(flag: string): string {
  return `CORRAL_DEV_${flag.replace(/^--/, "").replaceAll("-", "_").toUpperCase()}`;
}

/** CORRAL_DEV_* values given as flags; throws DevUsageError for unknown flags or stray arguments. */
export function flagValues(argv: string[], known: ReadonlySet<string>): Record<string, string> {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) throw new DevUsageError(`unexpected argument ${JSON.stringify(arg)}`);
    const [flag, inline] = arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg];
    const name = flagToVariable(flag!);
    if (!known.has(name)) throw new DevUsageError(`unknown option ${flag}`);
    if (BOOLEAN_FLAGS.has(name)) values[name] = inline ?? "true";
    else if (inline !== undefined) values[name] = inline;
    else if (i + 1 < argv.length) values[name] = argv[++i]!;
    else throw new DevUsageError(`${flag} needs a value`);
  }
  return values;
}

/** Validates CORRAL_DEV_* from the environment and the flags (flags win); throws ConfigError naming each bad one. */
export function loadDevSettings(
  argv: string[],
  env: Record<string, string | undefined>,
  cwd: string,
): DevSettings {
  const schema = devSchema(cwd);
  const fromEnv = Object.fromEntries(Object.entries(env).filter(([name]) => name.startsWith("CORRAL_DEV_")));
  return loadConfig(schema, { ...fromEnv, ...flagValues(argv, new Set(Object.keys(schema))) });
}

export function portPlanOf(s: DevSettings): PortPlan | "free" {
  if (s.CORRAL_DEV_FREE_PORTS) return "free";
  return {
    pg: s.CORRAL_DEV_PG_PORT,
    cpHttp: s.CORRAL_DEV_CP_HTTP_PORT,
    cpGrpc: s.CORRAL_DEV_CP_GRPC_PORT,
    dpHttp: s.CORRAL_DEV_DP_HTTP_PORT,
    dpGrpc: s.CORRAL_DEV_DP_GRPC_PORT,
    dpOps: s.CORRAL_DEV_DP_OPS_PORT,
    upstreamHttp: s.CORRAL_DEV_UPSTREAM_HTTP_PORT,
    upstreamGrpc: s.CORRAL_DEV_UPSTREAM_GRPC_PORT,
  };
}
