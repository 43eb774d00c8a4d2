/** The control plane's CORRAL_* settings: one schema, defaults here, validated once at start. */
import type { KeyObject } from "node:crypto";
import { hostname } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  bool,
  type ConfigOf,
  ConfigError,
  int,
  loadConfig,
  oneOf,
  port,
  str,
  url,
} from "../runtime/env-config.ts";
import { MIN_NODE_SECRET_LENGTH } from "../proto/node-credential.ts";
import { DEFAULT_CAPACITY, HEADER_SIZE, MAX_DECODED_BYTES, maxPayloadFor } from "../proto/snapshot-codec.ts";
import { HTTP_LIMITS_SCHEMA } from "../runtime/http-limits.ts";
import { TRACING_SCHEMA } from "../runtime/tracing.ts";
import { parsePrivateKey } from "../proto/signing-keys.ts";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

function secret(minLength: number): (raw: string) => string {
  return (raw) => {
    if (raw.length < minLength) throw new Error(`must be at least ${minLength} characters`);
    if (raw.length > 512) throw new Error("must be at most 512 characters");
    return raw;
  };
}

function signingKey(raw: string): KeyObject {
  try {
    return parsePrivateKey(raw);
  } catch {
    throw new Error("expected an Ed25519 private key (base64 PKCS#8 DER or PEM)");
  }
}

function blobUrl(raw: string): string {
  if (!/^(file|s3):\/\//.test(raw)) throw new Error(`expected file:///dir or s3://bucket/prefix, got ${raw}`);
  return url(["file:", "s3:"])(raw);
}

export function controlPlaneSchema(cwd = process.cwd()) {
  return {
    CORRAL_PG_URL: { parse: url(["postgres:", "postgresql:"]), doc: "Postgres connection URL", secret: true },
    CORRAL_BLOB_URL: {
      parse: blobUrl,
      default: pathToFileURL(join(cwd, ".corral", "blobs")).href,
      doc: "blob store: file:///dir or s3://bucket/prefix",
    },
    CORRAL_S3_ENDPOINT: { parse: url(["http:", "https:"]), default: "", doc: "S3-compatible endpoint URL" },
    CORRAL_HOST: { parse: str, default: "127.0.0.1", doc: "bind address" },
    CORRAL_HTTP_PORT: { parse: port, default: 7400, doc: "admin API, /sync/v1, /healthz, /readyz, /metrics" },
    CORRAL_GRPC_PORT: { parse: port, default: 7401, doc: "tenant gRPC API" },
    CORRAL_NODE_SECRET: {
      parse: secret(MIN_NODE_SECRET_LENGTH),
      doc: "fleet secret from which every slot's node credential derives (corral node-credential <slot>)",
      secret: true,
    },
    CORRAL_MAX_SLOTS: {
      parse: int(1, 100_000),
      default: 256,
      doc: "most slots in the fleet: a node of a new undeclared slot is refused beyond it",
    },
    CORRAL_SYNC_MAX_FRAMES_PER_SEC: {
      parse: int(1, 100_000),
      default: 50,
      doc: "frames a node may send on its sync connection per second before it is closed",
    },
    CORRAL_TLS_CERT_FILE: {
      parse: str,
      default: "",
      doc: "PEM certificate (chain) file: serve https and wss (with CORRAL_TLS_KEY_FILE)",
    },
    CORRAL_TLS_KEY_FILE: { parse: str, default: "", doc: "PEM private key file of CORRAL_TLS_CERT_FILE" },
    CORRAL_SIGNING_KEY: { parse: signingKey, doc: "Ed25519 private key signing snapshots", secret: true },
    CORRAL_OPERATOR_TOKEN: {
      parse: secret(16),
      default: "",
      doc: "bootstrap operator token (role admin)",
      secret: true,
    },
    CORRAL_AUTH_FAIL_LIMIT: {
      parse: int(1, 1_000_000),
      default: 20,
      doc: "failed authentications (admin API, tenant API) one address may make per window before it gets 429",
    },
    CORRAL_AUTH_FAIL_WINDOW_MS: {
      parse: int(1000, 24 * 3600 * 1000),
      default: 60_000,
      doc: "window (ms) of CORRAL_AUTH_FAIL_LIMIT, from an address's first failure",
    },
    CORRAL_AUTH_FAIL_SOURCES: {
      parse: int(100, 10_000_000),
      default: 100_000,
      doc: "addresses remembered per API for failed-authentication throttling (least recent forgotten)",
    },
    CORRAL_SNAPSHOT_CAPACITY: {
      parse: int(HEADER_SIZE + 1024, 1024 * 1024 * 1024),
      default: DEFAULT_CAPACITY,
      doc: "size in bytes of every snapshot blob",
    },
    CORRAL_SNAPSHOT_RETAIN: {
      parse: int(2, 100_000),
      default: 100,
      doc: "newest snapshot versions kept in the blob store (plus any a node serves); older blobs are deleted",
    },
    CORRAL_REDIS_URL: {
      parse: url(["redis:", "rediss:"]),
      default: "",
      doc: "Redis holding the nodes' period-quota counters: GET usage reads 'used' there (else from metering rows)",
      secret: true,
    },
    CORRAL_USAGE_RETENTION_DAYS: {
      parse: int(1, 3650),
      default: 90,
      doc: "days of hourly usage rows kept (per tenant, key, route, outcome); older rows are pruned hourly",
    },
    CORRAL_TENANT_MUTATIONS_PER_MINUTE: {
      parse: int(1, 600_000),
      default: 60,
      doc: "changes per minute one tenant may make through the tenant API (REST and gRPC), per CP replica",
    },
    CORRAL_TENANT_MUTATION_BURST: {
      parse: int(1, 100_000),
      default: 30,
      doc: "changes one tenant may make at once before CORRAL_TENANT_MUTATIONS_PER_MINUTE paces it",
    },
    CORRAL_SNAPSHOT_MAX_PAYLOAD: {
      parse: int(0, MAX_DECODED_BYTES),
      default: 0,
      doc: "bound in bytes on the uncompressed snapshot payload; changes that would pass it are refused (0 = the most that always fits CORRAL_SNAPSHOT_CAPACITY once gzipped)",
    },
    CORRAL_SNAPSHOT_FLEET_RESERVE: {
      parse: int(0, MAX_DECODED_BYTES),
      default: 0,
      doc: "bytes of the payload bound kept for slots, settings and the snapshot's own fields (0 = an eighth of the bound, at most 64 KiB)",
    },
    CORRAL_PLACEMENT_SEED: {
      parse: secret(16),
      default: "",
      doc: "secret seed of shuffle-shard placement, the same on every replica (default: derived from CORRAL_SIGNING_KEY)",
      secret: true,
    },
    CORRAL_PLACEMENT_FORGET_MS: {
      parse: int(0, 7 * 24 * 3600 * 1000),
      default: 600_000,
      doc: "how long a slot whose node vanished stays in placements (ms)",
    },
    CORRAL_PLACEMENT_STRICT: {
      parse: bool,
      default: false,
      doc: "nodes answer 421 with the shard instead of forwarding another tenant's requests",
    },
    CORRAL_MIGRATE: { parse: bool, default: true, doc: "run pending migrations at start" },
    CORRAL_CP_ID: { parse: str, default: `${hostname()}-${process.pid}`, doc: "this replica's id" },
    CORRAL_LOG_LEVEL: { parse: oneOf(LOG_LEVELS), default: "info", doc: "pino log level" },
    CORRAL_LEASE_TTL_MS: {
      parse: int(500, 600_000),
      default: 10_000,
      doc: "publisher lease time to live (ms): a dead publisher is replaced within about this long",
    },
    CORRAL_LATEST_REWRITE_MS: {
      parse: int(100, 3_600_000),
      default: 5_000,
      doc: "period (ms) at which the publisher rewrites snapshots/LATEST",
    },
    ...HTTP_LIMITS_SCHEMA,
    ...TRACING_SCHEMA,
    CORRAL_VERSION_POLL_MS: {
      parse: int(100, 600_000),
      default: 2_000,
      doc: "period (ms) of the polls behind LISTEN/NOTIFY: newest version, unpublished changes",
    },
  };
}

export type ControlPlaneConfig = ConfigOf<ReturnType<typeof controlPlaneSchema>>;

export function loadControlPlaneConfig(
  env: Record<string, string | undefined>,
  cwd?: string,
): ControlPlaneConfig {
  const config = withSnapshotBounds(loadConfig(controlPlaneSchema(cwd), env));
  if (Boolean(config.CORRAL_TLS_CERT_FILE) !== Boolean(config.CORRAL_TLS_KEY_FILE))
    throw new ConfigError(["CORRAL_TLS_CERT_FILE and CORRAL_TLS_KEY_FILE are set together or not at all"]);
  return config;
}

/**
 * Resolves the payload bound and the fleet reserve from the capacity when left at 0, and
 * refuses a bound a gzipped payload could overflow the capacity with (or a reserve that
 * leaves no room for tenants).
 */
function withSnapshotBounds(config: ControlPlaneConfig): ControlPlaneConfig {
  const fits = maxPayloadFor(config.CORRAL_SNAPSHOT_CAPACITY);
  const maxPayload = config.CORRAL_SNAPSHOT_MAX_PAYLOAD || fits;
  const reserve = config.CORRAL_SNAPSHOT_FLEET_RESERVE || Math.min(64 * 1024, Math.floor(maxPayload / 8));
  const problems: string[] = [];
  if (maxPayload > fits)
    problems.push(
      `CORRAL_SNAPSHOT_MAX_PAYLOAD: ${maxPayload} bytes may not fit CORRAL_SNAPSHOT_CAPACITY ${config.CORRAL_SNAPSHOT_CAPACITY} once gzipped (at most ${fits})`,
    );
  if (reserve >= maxPayload)
    problems.push(
      `CORRAL_SNAPSHOT_FLEET_RESERVE: ${reserve} bytes leaves nothing of the payload bound ${maxPayload} for tenants`,
    );
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    ...config,
    CORRAL_SNAPSHOT_MAX_PAYLOAD: maxPayload,
    CORRAL_SNAPSHOT_FLEET_RESERVE: reserve,
  });
}

/** `corral migrate` needs only these; the other control-plane settings may be present. */
export function loadMigrateConfig(env: Record<string, string | undefined>) {
  const full = controlPlaneSchema();
  const schema = { CORRAL_PG_URL: full.CORRAL_PG_URL, CORRAL_LOG_LEVEL: full.CORRAL_LOG_LEVEL };
  return loadConfig(schema, env, { allowUnknown: Object.keys(full) });
}
