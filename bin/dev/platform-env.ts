/** The environment of each platform process, pure: the CORRAL_* settings of the contracts and nothing else. */
import type { Env } from "./managed-child.ts";

export interface SharedSettings {
  host: string;
  blobUrl: string;
  logLevel?: string;
  httpPort: number;
  grpcPort: number;
}

export interface ControlPlaneSettings extends SharedSettings {
  id: string;
  pgUrl: string;
  /** CORRAL_NODE_SECRET: derives every slot's node credential */
  nodeSecret: string;
  signingKey: string;
  operatorToken: string;
}

export interface DataPlaneSettings extends SharedSettings {
  slot: string;
  /** CORRAL_NODE_TOKEN: this slot's credential (proto/node-credential.ts) */
  nodeCredential: string;
  zone: string;
  cpUrl: string;
  verifyKey: string;
  opsPort: number;
  dataDir: string;
}

/**
 * The parent's environment without any CORRAL_* variable: a child gets only the settings
 * meant for it (the processes refuse CORRAL_* variables they do not know).
 */
export function inheritedEnv(parent: NodeJS.ProcessEnv): Env {
  const env: Env = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value !== undefined && !name.startsWith("CORRAL_")) env[name] = value;
  }
  return env;
}

function shared(s: SharedSettings): Env {
  const env: Env = {
    CORRAL_HOST: s.host,
    CORRAL_BLOB_URL: s.blobUrl,
    CORRAL_HTTP_PORT: String(s.httpPort),
    CORRAL_GRPC_PORT: String(s.grpcPort),
  };
  if (s.logLevel) env.CORRAL_LOG_LEVEL = s.logLevel;
  return env;
}

export function controlPlaneEnv(s: ControlPlaneSettings): Env {
  return {
    ...shared(s),
    CORRAL_CP_ID: s.id,
    CORRAL_PG_URL: s.pgUrl,
    CORRAL_NODE_SECRET: s.nodeSecret,
    CORRAL_SIGNING_KEY: s.signingKey,
    CORRAL_OPERATOR_TOKEN: s.operatorToken,
  };
}

export function dataPlaneEnv(s: DataPlaneSettings): Env {
  return {
    ...shared(s),
    CORRAL_SLOT: s.slot,
    CORRAL_NODE_TOKEN: s.nodeCredential,
    CORRAL_ZONE: s.zone,
    CORRAL_CP_URL: s.cpUrl,
    CORRAL_VERIFY_KEY: s.verifyKey,
    CORRAL_OPS_PORT: String(s.opsPort),
    CORRAL_DATA_DIR: s.dataDir,
  };
}

export const DEFAULT_ZONES: readonly string[] = Object.freeze(["zone-a", "zone-b", "zone-c"]);

export function slotName(index: number): string {
  return `dp-${index}`;
}

export function zoneOf(index: number, zones: readonly string[] = DEFAULT_ZONES): string {
  return zones[index % zones.length]!;
}
