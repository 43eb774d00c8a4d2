/** The control plane's CORRAL_* settings: one schema, defaults here, validated once at start. */
import type { KeyObject } from "node:crypto";
import { hostname } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { bool, type ConfigOf, int, loadConfig, oneOf, port, str, url } from "../proto/env-config.ts";
import { HTTP_LIMITS_SCHEMA } from "../proto/http-limits.ts";
import { DEFAULT_CAPACITY, HEADER_SIZE } from "../proto/snapshot-codec.ts";
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
    CORRAL_NODE_TOKEN: {
      parse: secret(16),
      doc: "shared secret data-plane nodes present on /sync/v1",
      secret: true,
    },
    CORRAL_SIGNING_KEY: { parse: signingKey, doc: "Ed25519 private key signing snapshots", secret: true },
    CORRAL_OPERATOR_TOKEN: {
      parse: secret(16),
      default: "",
      doc: "bootstrap operator token (role admin)",
      secret: true,
    },
    CORRAL_SNAPSHOT_CAPACITY: {
      parse: int(HEADER_SIZE + 1024, 1024 * 1024 * 1024),
      default: DEFAULT_CAPACITY,
      doc: "size in bytes of every snapshot blob",
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
  return loadConfig(controlPlaneSchema(cwd), env);
}

/** `corral migrate` needs only these; the other control-plane settings may be present. */
export function loadMigrateConfig(env: Record<string, string | undefined>) {
  const full = controlPlaneSchema();
  const schema = { CORRAL_PG_URL: full.CORRAL_PG_URL, CORRAL_LOG_LEVEL: full.CORRAL_LOG_LEVEL };
  return loadConfig(schema, env, { allowUnknown: Object.keys(full) });
}
