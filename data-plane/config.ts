/**
 * The data plane's settings: one schema of CORRAL_* variables (contracts), validated once at
 * start by runtime/env-config.ts, then resolved (derived defaults) and frozen.
 */
import type { KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import type { BlockList } from "node:net";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  ConfigError,
  fraction,
  int,
  loadConfig,
  oneOf,
  port,
  type Schema,
  str,
  url,
} from "../runtime/env-config.ts";
import { credentialSlot } from "../proto/node-credential.ts";
import { parsePublicKey } from "../proto/signing-keys.ts";
import { parseTrustedProxies } from "./pipeline/client-origin.ts";
import { HTTP_LIMITS_SCHEMA, type HttpLimits, httpLimits } from "../runtime/http-limits.ts";
import { TRACING_SCHEMA, type TracingSettings, tracingSettings } from "../runtime/tracing.ts";
import { DEFAULT_CAPACITY, HEADER_SIZE } from "../proto/snapshot-codec.ts";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

function slotName(raw: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(raw))
    throw new Error(`expected a slot name like dp-0 ([a-z0-9-], at most 63), got ${JSON.stringify(raw)}`);
  return raw;
}

function nodeCredential(raw: string): string {
  if (credentialSlot(raw) === undefined)
    throw new Error("expected a node credential crn_<slot>.<64 hex digits> (corral node-credential <slot>)");
  return raw;
}

function hostAddress(raw: string): string {
  if (!/^[A-Za-z0-9.:[\]-]{1,253}$/.test(raw))
    throw new Error(`expected a host or IP address, got ${JSON.stringify(raw)}`);
  return raw;
}

function blobUrl(raw: string): string {
  if (!/^(file|s3):\/\//.test(raw)) throw new Error("expected file:///dir or s3://bucket/prefix");
  return url(["file:", "s3:"])(raw);
}

function headerName(raw: string): string {
  if (!/^[a-z0-9-]{1,64}$/.test(raw))
    throw new Error("expected a lower-case header name ([a-z0-9-], at most 64)");
  return raw;
}

function verifyKey(raw: string): KeyObject {
  try {
    return parsePublicKey(raw);
  } catch (err) {
    throw new Error(`expected an Ed25519 public key (base64 SPKI DER or PEM): ${(err as Error).message}`);
  }
}

export function dataPlaneSchema(cwd: string) {
  return {
    CORRAL_CP_URL: {
      parse: url(["http:", "https:"]),
      doc: "http(s)://host:port of any control-plane replica",
    },
    CORRAL_NODE_TOKEN: {
      parse: nodeCredential,
      doc: "this slot's node credential crn_<slot>.<mac>, presented on /sync/v1 (corral node-credential <slot>)",
      secret: true,
    },
    CORRAL_CP_CA_FILE: {
      parse: str,
      default: "",
      doc: "PEM CA certificate(s) the control plane's https/wss certificate must chain to (default: the system's)",
    },
    CORRAL_VERIFY_KEY: { parse: verifyKey, doc: "Ed25519 public key that verifies snapshots" },
    CORRAL_BLOB_URL: {
      parse: blobUrl,
      default: pathToFileURL(resolve(cwd, ".corral/blobs")).href,
      doc: "blob store holding snapshots: file:///dir or s3://bucket/prefix",
    },
    CORRAL_S3_ENDPOINT: {
      parse: url(["http:", "https:"]),
      default: "",
      doc: "endpoint of an S3-compatible server",
    },
    CORRAL_SLOT: { parse: slotName, doc: "this node's fleet slot, e.g. dp-0" },
    CORRAL_ZONE: { parse: slotName, default: "zone-a", doc: "this node's zone" },
    CORRAL_HOST: { parse: hostAddress, default: "127.0.0.1", doc: "bind address" },
    CORRAL_HTTP_PORT: { parse: port, default: 7500, doc: "tenant HTTP ingress port" },
    CORRAL_GRPC_PORT: { parse: port, default: 7600, doc: "tenant gRPC ingress port" },
    CORRAL_OPS_PORT: { parse: port, default: 7700, doc: "/healthz, /readyz, /metrics, /status port" },
    CORRAL_ADVERTISE_URL: {
      parse: url(["http:", "https:"]),
      default: "",
      doc: "ingress URL other nodes use (default http://<host>:<http port>); its host with the gRPC port is where they forward gRPC calls",
    },
    CORRAL_DATA_DIR: {
      parse: str,
      default: "",
      doc: "disk cache directory (default <cwd>/.corral/dp-<slot>)",
    },
    CORRAL_SNAPSHOT_CAPACITY: {
      parse: int(HEADER_SIZE + 1, 1024 * 1024 * 1024),
      default: DEFAULT_CAPACITY,
      doc: "largest snapshot blob accepted, in bytes",
    },
    CORRAL_POLL_INTERVAL_MS: {
      parse: int(100, 3_600_000),
      default: 10_000,
      doc: "period of the constant-work pull of LATEST (jittered ±20 %)",
    },
    CORRAL_REDIS_URL: {
      parse: url(["redis:", "rediss:"]),
      default: "",
      doc: "Redis for shared admission state",
    },
    CORRAL_PUBLIC_CLIENT_SLOTS: {
      parse: int(16, 65_536),
      default: 1024,
      doc: "client addresses tracked per public route with a client limit (Space-Saving heavy hitters; exact for any client above 1/slots of the route's traffic)",
    },
    CORRAL_PUBLIC_CLIENT_IPV6_PREFIX: {
      parse: int(32, 128),
      default: 64,
      doc: "IPv6 clients of public routes are limited per prefix of this length",
    },
    CORRAL_IDEMPOTENCY_TTL_S: {
      parse: int(60, 7 * 86_400),
      default: 86_400,
      doc: "how long an idempotency key's first answer is kept (seconds); the key cannot be reused before",
    },
    CORRAL_IDEMPOTENCY_LEASE_MS: {
      parse: int(1_000, 600_000),
      default: 10_000,
      doc: "lease of an in-flight idempotency key, renewed every third of it while the request runs",
    },
    CORRAL_IDEMPOTENCY_MAX_BODY_BYTES: {
      parse: int(1, 16 * 1024 * 1024),
      default: 1024 * 1024,
      doc: "largest request body of an idempotent request (it is held to be hashed); larger: 413",
    },
    CORRAL_IDEMPOTENCY_MAX_RESPONSE_BYTES: {
      parse: int(0, 16 * 1024 * 1024),
      default: 64 * 1024,
      doc: "largest first answer body kept for replay; a larger one is relayed and the key is spent (409 on retry)",
    },
    CORRAL_LOG_LEVEL: { parse: oneOf(LOG_LEVELS), default: "info" as LogLevel, doc: "pino log level" },
    CORRAL_LOG_SAMPLE_RATE: {
      parse: fraction,
      default: 1,
      doc: "share of successful requests and gRPC calls logged (0..1, 1 = every one); rejections and errors are always logged",
    },
    ...HTTP_LIMITS_SCHEMA,
    ...TRACING_SCHEMA,
    CORRAL_TRUSTED_PROXIES: {
      parse: (raw: string) => {
        parseTrustedProxies(raw); // validated here, built once in loadDataPlaneSettings
        return raw;
      },
      default: "",
      doc: "addresses and CIDR blocks of front load balancers whose X-Forwarded-For and X-Forwarded-Proto are believed (comma-separated; default none)",
    },
    CORRAL_WS_MAX_SOCKETS: {
      parse: int(0, 1_000_000),
      default: 10_000,
      doc: "WebSockets open on this node at most, every tenant together (0 = none accepted); past it a handshake is 503 websocket_capacity",
    },
    CORRAL_WS_MAX_SOCKETS_PER_TENANT: {
      parse: int(1, 1_000_000),
      default: 2_500,
      doc: "WebSockets one tenant holds open on this node at most, all its routes together (each route also caps its own); past it a handshake is 429 quota",
    },
    CORRAL_WS_CLOSE_GRACE_MS: {
      parse: int(0, 3_600_000),
      default: 10_000,
      doc: "after a config removes a socket's route or suspends its tenant, how long the socket stays open before it is closed with 1001",
    },
    CORRAL_FAULT_CRASH_ON_HEADER: {
      parse: headerName,
      default: "",
      doc: "FAULT INJECTION, tests only: the node crashes when an upstream answer carries this header (refused with NODE_ENV=production)",
    },
  } satisfies Schema;
}

/** Limits that are not operator settings (yet): request bounds of the ingress. */
export const INGRESS_LIMITS = Object.freeze({
  bodyLimitBytes: 16 * 1024 * 1024,
  maxHeaderBytes: 16 * 1024,
  /** longest a close() waits for in-flight requests before cutting connections */
  drainTimeoutMs: 30_000,
});

export interface DataPlaneSettings {
  cpUrl: string;
  /** this slot's node credential */
  nodeToken: string;
  /** CA certificates for the control plane's TLS certificate (CORRAL_CP_CA_FILE), else the system's */
  cpCa: Buffer | undefined;
  verifyKey: KeyObject;
  blobUrl: string;
  s3Endpoint: string | undefined;
  slot: string;
  zone: string;
  host: string;
  httpPort: number;
  grpcPort: number;
  opsPort: number;
  /** undefined: derived from the bound ingress address at start */
  advertiseUrl: string | undefined;
  dataDir: string;
  snapshotCapacity: number;
  pollIntervalMs: number;
  redisUrl: string | undefined;
  logLevel: LogLevel;
  /** share of successful requests that get a log line (rejections and errors always do) */
  logSampleRate: number;
  /** fault injection (tests only): crash on an upstream answer with this header */
  faultCrashOnHeader: string | undefined;
  /** request, header and idle timeouts, connection caps of the HTTP and gRPC ingress */
  limits: HttpLimits;
  /** front load balancers whose X-Forwarded-For/-Proto the node believes */
  trustedProxies: BlockList;
  /** WebSockets: the node's cap and the grace before a removed route's sockets close */
  websockets: { maxSockets: number; maxSocketsPerTenant: number; closeGraceMs: number };
  /** per-client limits of public routes (admission/client-limiter.ts) */
  publicClients: { slots: number; ipv6Prefix: number };
  /** gateway idempotency keys (idempotency/) */
  idempotency: IdempotencySettings;
  /** OpenTelemetry span export (off without an endpoint) */
  tracing: TracingSettings;
}

export interface IdempotencySettings {
  ttlS: number;
  leaseMs: number;
  maxBodyBytes: number;
  maxResponseBytes: number;
}

/** The CA file's PEM, read once at start; a CA needs an https control-plane URL to mean anything. */
function readCa(path: string, cpUrl: string): Buffer | undefined {
  if (!path) return undefined;
  if (!cpUrl.startsWith("https:"))
    throw new ConfigError(["CORRAL_CP_CA_FILE: set with an http CORRAL_CP_URL; use https://"]);
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError([`CORRAL_CP_CA_FILE: cannot read ${path}: ${(err as Error).message}`]);
  }
}

/** Validates the environment (throws ConfigError naming every bad variable) and resolves defaults. */
export function loadDataPlaneSettings(
  env: Record<string, string | undefined>,
  cwd: string = process.cwd(),
): DataPlaneSettings {
  const c = loadConfig(dataPlaneSchema(cwd), env);
  if (c.CORRAL_FAULT_CRASH_ON_HEADER && env.NODE_ENV === "production")
    throw new ConfigError([
      "CORRAL_FAULT_CRASH_ON_HEADER: fault injection is refused with NODE_ENV=production",
    ]);
  if (credentialSlot(c.CORRAL_NODE_TOKEN) !== c.CORRAL_SLOT)
    throw new ConfigError([
      `CORRAL_NODE_TOKEN: the credential is for slot ${credentialSlot(c.CORRAL_NODE_TOKEN)}, CORRAL_SLOT is ${c.CORRAL_SLOT}`,
    ]);
  return Object.freeze({
    cpUrl: c.CORRAL_CP_URL,
    nodeToken: c.CORRAL_NODE_TOKEN,
    cpCa: readCa(c.CORRAL_CP_CA_FILE, c.CORRAL_CP_URL),
    verifyKey: c.CORRAL_VERIFY_KEY,
    blobUrl: c.CORRAL_BLOB_URL,
    s3Endpoint: c.CORRAL_S3_ENDPOINT || undefined,
    slot: c.CORRAL_SLOT,
    zone: c.CORRAL_ZONE,
    host: c.CORRAL_HOST,
    httpPort: c.CORRAL_HTTP_PORT,
    grpcPort: c.CORRAL_GRPC_PORT,
    opsPort: c.CORRAL_OPS_PORT,
    advertiseUrl: c.CORRAL_ADVERTISE_URL || undefined,
    dataDir: resolve(cwd, c.CORRAL_DATA_DIR || `.corral/dp-${c.CORRAL_SLOT}`),
    snapshotCapacity: c.CORRAL_SNAPSHOT_CAPACITY,
    pollIntervalMs: c.CORRAL_POLL_INTERVAL_MS,
    redisUrl: c.CORRAL_REDIS_URL || undefined,
    logLevel: c.CORRAL_LOG_LEVEL,
    logSampleRate: c.CORRAL_LOG_SAMPLE_RATE,
    faultCrashOnHeader: c.CORRAL_FAULT_CRASH_ON_HEADER || undefined,
    limits: httpLimits(c),
    trustedProxies: parseTrustedProxies(c.CORRAL_TRUSTED_PROXIES),
    websockets: {
      maxSockets: c.CORRAL_WS_MAX_SOCKETS,
      maxSocketsPerTenant: c.CORRAL_WS_MAX_SOCKETS_PER_TENANT,
      closeGraceMs: c.CORRAL_WS_CLOSE_GRACE_MS,
    },
    publicClients: { slots: c.CORRAL_PUBLIC_CLIENT_SLOTS, ipv6Prefix: c.CORRAL_PUBLIC_CLIENT_IPV6_PREFIX },
    idempotency: {
      ttlS: c.CORRAL_IDEMPOTENCY_TTL_S,
      leaseMs: c.CORRAL_IDEMPOTENCY_LEASE_MS,
      maxBodyBytes: c.CORRAL_IDEMPOTENCY_MAX_BODY_BYTES,
      maxResponseBytes: c.CORRAL_IDEMPOTENCY_MAX_RESPONSE_BYTES,
    },
    tracing: tracingSettings(c),
  });
}
