/** Signed snapshots, tenants and keys for data-plane tests. */
import type { KeyObject } from "node:crypto";
import { generateApiKey } from "../../proto/api-key.ts";
import { STREAMING_UNSET } from "../../proto/route-streaming.ts";
import { encodePointer, LATEST_KEY, snapshotKey } from "../../proto/blob-keys.ts";
import type { BlobStore } from "../../runtime/blob-store/blob-store.ts";
import { Snapshot, type Tenant, type Upstream } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { generateSigningKeyPair, parsePrivateKey, parsePublicKey } from "../../proto/signing-keys.ts";
import { encodeSnapshot } from "../../proto/snapshot-codec.ts";
import { loadBlob } from "../../data-plane/config-client/load-blob.ts";
import { LiveConfig } from "../../data-plane/router/live-config.ts";
import { plainTenant } from "../../data-plane/config-client/validate-snapshot.ts";
import type { PlainUpstream } from "../../data-plane/model/plain-config.ts";
import { targetKey } from "../../data-plane/upstream/down-list.ts";
import { DEFAULT_OUTLIER } from "../../proto/upstream-policy.ts";

export const CAPACITY = 256 * 1024;

export interface SigningPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** base64 SPKI DER: the value of CORRAL_VERIFY_KEY */
  verifyKeyText: string;
}

export function signingPair(): SigningPair {
  const pair = generateSigningKeyPair();
  return {
    privateKey: parsePrivateKey(pair.privateKey),
    publicKey: parsePublicKey(pair.publicKey),
    verifyKeyText: pair.publicKey,
  };
}

export interface TenantSpec {
  id: string;
  status?: string;
  upstream: string | string[];
  routes?: {
    id: string;
    pathPrefix: string;
    hosts?: string[];
    methods?: string[];
    timeoutMs?: number;
    stripPrefix?: boolean;
    protocol?: "http" | "grpc";
    /** retries after the first attempt, and the statuses retried (empty: the default) */
    retries?: number;
    retryStatuses?: number[];
    /** the route's WebSocket and streaming settings (default: none, the defaults) */
    streaming?: Partial<typeof STREAMING_UNSET>;
    /** keyless, by host (names hosts) */
    public?: boolean;
    idempotency?: boolean;
    /** route bucket */
    limits?: { rate: number; burst: number };
    /** per-client-address bucket of a public route */
    client?: { rate: number; burst: number };
  }[];
  /** the upstream's retry budget (0: the default) */
  retryBudget?: { percent: number; minPerSecond: number; windowMs: number };
  keys?: { id: string; hash: Buffer; scopes?: string[] }[];
  /** the tenant's egress exceptions; default all of loopback, where test upstreams listen */
  egressAllow?: string[];
  /** the upstream's traffic policy (proto/upstream-policy.ts); default none: the node's defaults */
  policy?: Pick<Upstream, "weights" | "healthCheck" | "outlier">;
}

function routeBucket(l: { rate: number; burst: number }) {
  const off = {
    concurrency: 0,
    priority: "",
    shardSize: 0,
    shadow: false,
    disabled: false,
    quota: undefined,
  };
  return { ...off, rate: l.rate, burst: l.burst };
}

export function tenant(spec: TenantSpec): Tenant {
  const targets = Array.isArray(spec.upstream) ? spec.upstream : [spec.upstream];
  return {
    id: spec.id,
    name: spec.id,
    status: spec.status ?? "active",
    plan: "standard",
    limits: undefined,
    shard: [],
    keys: (spec.keys ?? []).map((k) => ({
      id: k.id,
      hash: k.hash,
      scopes: k.scopes ?? ["invoke"],
      quota: undefined,
    })),
    routes: (spec.routes ?? [{ id: "r1", pathPrefix: "/" }]).map((r) => ({
      id: r.id,
      hosts: r.hosts ?? [],
      pathPrefix: r.pathPrefix,
      methods: r.methods ?? [],
      upstreamId: "u1",
      timeoutMs: r.timeoutMs ?? 2000,
      protocol: r.protocol ?? "http",
      public: r.public ?? false,
      limits: r.limits && routeBucket(r.limits),
      idempotency: r.idempotency ?? false,
      retries: r.retries ?? 0,
      retryStatuses: r.retryStatuses ?? [],
      stripPrefix: r.stripPrefix ?? false,
      ...STREAMING_UNSET,
      ...r.streaming,
      clientRate: r.client?.rate ?? 0,
      clientBurst: r.client?.burst ?? 0,
    })),
    upstreams: [
      {
        id: "u1",
        name: "api",
        targets,
        connectTimeoutMs: 1000,
        retryBudgetPercent: spec.retryBudget?.percent ?? 0,
        retryBudgetMinPerSecond: spec.retryBudget?.minPerSecond ?? 0,
        retryBudgetWindowMs: spec.retryBudget?.windowMs ?? 0,
        weights: [],
        healthCheck: undefined,
        outlier: undefined,
        ...spec.policy,
      },
    ],
    // the test upstreams listen on loopback, which the egress policy refuses unless allowed
    egressAllow: spec.egressAllow ?? ["127.0.0.0/8"],
  };
}

export function snapshot(version: number, tenants: Tenant[]): Snapshot {
  return Snapshot.fromPartial({ version, epoch: 1, createdAtMs: Date.now(), tenants });
}

export function newKey(): { key: string; hash: Buffer; id: string } {
  return generateApiKey();
}

export interface Published {
  version: number;
  key: string;
  sha256: string;
  blob: Buffer;
}

export function sign(snap: Snapshot, pair: SigningPair, capacity = CAPACITY): Published {
  const enc = encodeSnapshot(snap, capacity, pair.privateKey);
  return { version: snap.version, key: snapshotKey(snap.version), sha256: enc.sha256, blob: enc.blob };
}

/** Writes the blob and points LATEST at it, as the control plane does. */
export async function publish(store: BlobStore, pub: Published): Promise<Published> {
  await store.put(pub.key, pub.blob);
  await store.put(LATEST_KEY, encodePointer({ version: pub.version, key: pub.key, sha256: pub.sha256 }));
  return pub;
}

/** The LiveConfig a node would serve for this snapshot (verified and indexed on this thread). */
export function liveConfig(snap: Snapshot, pair: SigningPair, capacity = CAPACITY): LiveConfig {
  const { blob } = sign(snap, pair, capacity);
  const result = loadBlob({ blob, maxCapacity: capacity }, pair.publicKey);
  if (result.outcome !== "new") throw new Error("expected a new version");
  return new LiveConfig(result.index, plainTenant);
}

/** An upstream as the node holds it, over the given origins (weights 1, default outlier policy). */
export function plainUpstream(
  origins: readonly string[],
  more: Partial<Omit<PlainUpstream, "targets" | "targetKeys">> = {},
): PlainUpstream {
  const id = more.id ?? "u1";
  const targets = origins.map((origin) => ({
    url: origin,
    origin,
    basePath: "",
    weight: 1,
    key: targetKey(id, origin),
  }));
  return {
    id,
    name: id,
    connectTimeoutMs: 1000,
    outlier: DEFAULT_OUTLIER,
    healthCheck: undefined,
    ...more,
    targets,
    targetKeys: targets.map((t) => t.key),
  };
}
