/**
 * Measures the data-plane apply path on a large snapshot: total apply time and the longest
 * event-loop stall while applying (target: no stall over 20 ms for 100k tenants). Stalls are
 * reported as wall time (monitorEventLoopDelay and a setImmediate probe) and as the main
 * thread's own CPU time within the longest turn (immune to other processes on the machine).
 *
 *   node --expose-gc data-plane/bench/apply-100k.ts [tenants=100000] [routesAndKeysPerTenant=5]
 *
 * Runs the real path: filesystem blob store -> LATEST -> ConfigApplier -> snapshot worker
 * (fetch, verify, decode, validate, index, disk cache) -> swap. Then pulls of the same version (the
 * constant-work re-verify every node does each period: the main thread should get a header
 * only and hold no new buffers), then a changed version applied over the served one.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { encodePointer, LATEST_KEY, snapshotKey } from "../../proto/blob-keys.ts";
import { FsBlobStore } from "../../runtime/blob-store/fs-blob-store.ts";
import { Route, Snapshot, type Tenant, Upstream } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { generateSigningKeyPair, parsePrivateKey, parsePublicKey } from "../../proto/signing-keys.ts";
import { compressSnapshot, frameSnapshot, HEADER_SIZE } from "../../proto/snapshot-codec.ts";
import { systemTimers } from "../clock.ts";
import { type ApplyOutcome, ConfigApplier } from "../config-client/config-applier.ts";
import { WorkerSnapshotLoader } from "../config-client/snapshot-loader.ts";
import type { LiveConfig } from "../router/live-config.ts";

const tenantCount = Number(process.argv[2] ?? 100_000);
const perTenant = Number(process.argv[3] ?? 5);

function syntheticTenant(i: number): Tenant {
  const id = `tenant-${i}`;
  return {
    id,
    name: id,
    status: "active",
    plan: "standard",
    egressAllow: [],
    limits: {
      rate: 100,
      burst: 200,
      concurrency: 50,
      priority: "standard",
      shardSize: 3,
      shadow: false,
      disabled: false,
      quota: undefined,
    },
    shard: [],
    keys: Array.from({ length: perTenant }, (_, k) => ({
      id: `k${i}x${k}`,
      hash: randomBytes(32),
      scopes: ["invoke"],
      quota: undefined,
    })),
    routes: Array.from({ length: perTenant }, (_, r) =>
      Route.fromPartial({
        id: `r${r}`,
        hosts: r === 0 ? [`${id}.example.com`] : [],
        pathPrefix: `/svc${r}/v1`,
        methods: r === 1 ? ["GET", "POST"] : [],
        upstreamId: "u1",
        timeoutMs: 15_000,
        protocol: "http",
      }),
    ),
    upstreams: [
      Upstream.fromPartial({ id: "u1", name: "api", targets: [`http://10.0.${i % 250}.${i % 200}:8080`] }),
    ],
  };
}

function threadCpuMs(): number {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
}

/**
 * Gaps between two turns of a setImmediate chain: what a request arriving then would have
 * waited. Wall time includes time the OS gave the core to someone else (this machine is
 * shared); the main thread's own CPU time in the gap is the stall our code caused.
 */
function stallProbe(): { stop(): { wallMs: number; cpuMs: number } } {
  let lastWall = performance.now();
  let lastCpu = threadCpuMs();
  let wallMs = 0;
  let cpuMs = 0;
  let running = true;
  const tick = () => {
    const wall = performance.now();
    const cpu = threadCpuMs();
    wallMs = Math.max(wallMs, wall - lastWall);
    cpuMs = Math.max(cpuMs, cpu - lastCpu);
    lastWall = wall;
    lastCpu = cpu;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    stop() {
      running = false;
      return { wallMs, cpuMs };
    },
  };
}

async function measure(applier: ConfigApplier, outcomes: ApplyOutcome[]) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const probe = stallProbe();
  const started = performance.now();
  applier.request({ kind: "pull" });
  await applier.idle();
  const wallMs = performance.now() - started;
  const worst = probe.stop();
  histogram.disable();
  const outcome = outcomes.at(-1)!;
  if (!outcome.ok) throw new Error(`apply failed: ${outcome.error.code} ${outcome.error.message}`);
  return {
    changed: outcome.changed,
    applyMs: outcome.applyMs,
    wallMs: Math.round(wallMs),
    longestStallWallMs: Number(worst.wallMs.toFixed(1)),
    longestStallCpuMs: Number(worst.cpuMs.toFixed(1)),
    loopDelayMaxMs: Number((histogram.max / 1e6).toFixed(1)),
    loopDelayP99Ms: Number((histogram.percentile(99) / 1e6).toFixed(1)),
  };
}

interface Built {
  blob: Buffer;
  sha256: string;
  capacity: number;
}

/**
 * Builds and signs version 1 and a version 2 where one tenant in a thousand changed (what a
 * config change looks like to a node); only the blobs survive, so the heap is a node's heap.
 */
function buildBlobs(privateKey: string): [Built, Built] {
  const started = performance.now();
  const tenants = Array.from({ length: tenantCount }, (_, i) => syntheticTenant(i));
  const frame = (version: number): Built => {
    const snapshot = Snapshot.fromPartial({ version, epoch: 1, createdAtMs: Date.now(), tenants });
    const payload = compressSnapshot(snapshot);
    const capacity = Math.ceil((HEADER_SIZE + payload.length) / (1024 * 1024)) * 1024 * 1024;
    const { blob, sha256 } = frameSnapshot(snapshot, payload, capacity, parsePrivateKey(privateKey));
    return { blob, sha256, capacity };
  };
  const v1 = frame(1);
  for (let i = 0; i < tenants.length; i += 1000) tenants[i]!.name = `renamed-${i}`;
  const v2 = frame(2);
  console.log(
    `snapshot: ${tenantCount} tenants x ${perTenant} routes + ${perTenant} keys; ` +
      `blob ${v1.capacity} bytes; two versions built in ${Math.round(performance.now() - started)} ms`,
  );
  return [v1, v2];
}

/** Writes both blobs and points LATEST at version 1; returns the pointer to version 2. */
async function publishBoth(
  store: FsBlobStore,
  privateKey: string,
): Promise<{ capacity: number; next: Buffer }> {
  const [v1, v2] = buildBlobs(privateKey);
  await store.put(snapshotKey(1), v1.blob);
  await store.put(snapshotKey(2), v2.blob);
  await store.put(LATEST_KEY, encodePointer({ version: 1, key: snapshotKey(1), sha256: v1.sha256 }));
  const next = encodePointer({ version: 2, key: snapshotKey(2), sha256: v2.sha256 });
  return { capacity: Math.max(v1.capacity, v2.capacity), next };
}

/** ArrayBuffer bytes the main thread holds now (the blob used to land here every pull). */
const mainArrayBuffers = () => process.memoryUsage().arrayBuffers;

async function main(): Promise<void> {
  const pair = generateSigningKeyPair();
  const dir = await mkdtemp(join(tmpdir(), "corral-bench-"));
  try {
    const store = new FsBlobStore(join(dir, "blobs"));
    const { capacity, next } = await publishBoth(store, pair.privateKey);
    const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
    gc();
    const loader = new WorkerSnapshotLoader({
      publicKey: parsePublicKey(pair.publicKey),
      blobUrl: pathToFileURL(join(dir, "blobs")).href,
      dataDir: join(dir, "data"),
      maxBytes: capacity,
    });
    const outcomes: ApplyOutcome[] = [];
    let live: LiveConfig | undefined;
    const applier = new ConfigApplier({
      loader,
      maxCapacity: capacity,
      timers: systemTimers(),
      live: { current: () => live, install: (c) => (live = c) },
      onOutcome: (o) => outcomes.push(o),
    });
    console.log("first apply (new version, nothing served yet):", await measure(applier, outcomes));
    console.log(`  tenants indexed: ${live?.tenantCount}`);
    for (let i = 1; i <= 3; i++) {
      gc();
      const before = mainArrayBuffers();
      const result = await measure(applier, outcomes);
      const grewKiB = Math.round((mainArrayBuffers() - before) / 1024);
      console.log(`unchanged pull #${i} (same version, re-verify):`, {
        ...result,
        mainArrayBuffersGrewKiB: grewKiB,
      });
    }
    await store.put(LATEST_KEY, next);
    console.log("changed apply (version 2 while version 1 is served):", await measure(applier, outcomes));
    await loader.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
