import { type ChildProcess, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { dataPlaneEnv, inheritedEnv } from "../../bin/dev/platform-env.ts";
import { type Platform, startPlatform } from "../../bin/dev/platform.ts";
import { DATA_PLANE_V8_FLAGS } from "../../data-plane/node-flags.ts";
import { startPostgres, type TestPostgres } from "../../test/support/postgres.ts";
import { GrpcSender } from "../generator/senders.ts";
import { freePort, waitUntil } from "../net/free-port.ts";
import { parsePromText, sumByLabel } from "../platform/prom-text.ts";
import { createTenant, putPlan } from "../platform/tenants.ts";
import { stopChild } from "../process/child-process.ts";
import type { Applies, BenchUpstream, Contender, RunningContender } from "./contenders.ts";

/**
 * The data plane as a bench contender, with everything on: a real control plane on a real
 * Postgres publishes the config (startPlatform with no data planes of its own), and one
 * data-plane node started here serves it: API-key auth, admission (a plan whose limits
 * never bind, so the token buckets and concurrency limiter run on every request), load
 * shedding, placement, metrics, request logs at info level, the constant-work pull of LATEST
 * every 10 s. Its settings are the defaults a user gets (`corral data-plane` with the V8 flags
 * of data-plane/node-flags.ts: every request logged, CORRAL_LOG_SAMPLE_RATE=1) unless the
 * bench names others (`dataPlaneContender(env)`). The node writes its log straight to a
 * file, as in production behind a log shipper, so the harness does not spend its own CPU
 * reading it. The control plane and Postgres sit idle during the measurement; only the
 * node's CPU is counted.
 */
const BIN = fileURLToPath(new URL("../../bin/corral.ts", import.meta.url));
const SLOT = "dp-bench";
const NEVER_BINDING = {
  rate: 1_000_000,
  burst: 10_000_000,
  concurrency: 100_000,
  priority: "standard",
} as const;

/** The node answers the bench request: gRPC Echo when the upstream is gRPC, else GET /bench. */
async function serves(node: { url: string; grpc: string }, headers: Record<string, string>, grpc: boolean) {
  if (grpc) {
    const sender = new GrpcSender({ connections: 1, timeoutMs: 2000 });
    try {
      return (await sender.send({ kind: "grpc", address: node.grpc, metadata: headers })) === "ok";
    } finally {
      await sender.close();
    }
  }
  const res = await request(`${node.url}/bench`, { headers, headersTimeout: 2000, bodyTimeout: 2000 });
  await res.body.dump();
  return res.statusCode === 200;
}

async function configure(platform: Platform, upstream: BenchUpstream): Promise<string> {
  const admin = platform.admin();
  await putPlan(admin, "bench", { ...NEVER_BINDING, shardSize: 1 });
  const tenant = await createTenant(admin, { id: "bench", plan: "bench", upstreamUrl: upstream.url });
  await admin.post(`/admin/v1/tenants/bench/routes`, { pathPrefix: "/bench", upstreamId: tenant.upstreamId });
  if (upstream.grpc) {
    const echo = await admin.post<{ id: string }>("/admin/v1/tenants/bench/upstreams", {
      name: "echo",
      targets: [`http://${upstream.grpc}`],
    });
    await admin.post("/admin/v1/tenants/bench/routes", {
      pathPrefix: "/corral.demo.v1.Echo/",
      upstreamId: echo.id,
      protocol: "grpc",
    });
  }
  return tenant.key;
}

async function spawnNode(
  platform: Platform,
  dir: string,
  settings: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; grpc: string; ops: string }> {
  const [http, grpc, ops] = [await freePort(), await freePort(), await freePort()];
  const env = dataPlaneEnv({
    host: "127.0.0.1",
    blobUrl: platform.blobUrl,
    nodeCredential: platform.nodeCredential(SLOT),
    logLevel: "info",
    slot: SLOT,
    zone: "zone-a",
    cpUrl: platform.cpUrl,
    verifyKey: platform.verifyKey,
    httpPort: http,
    grpcPort: grpc,
    opsPort: ops,
    dataDir: join(dir, SLOT),
  });
  const log = openSync(join(dir, `${SLOT}.log`), "a");
  const child = spawn(process.execPath, [...DATA_PLANE_V8_FLAGS, BIN, "data-plane"], {
    env: { ...inheritedEnv(process.env), ...env, ...settings },
    stdio: ["ignore", log, log],
  });
  const ready = await waitUntil(async () => {
    if (child.exitCode !== null) throw new Error("exited");
    const res = await request(`http://127.0.0.1:${ops}/readyz`);
    await res.body.dump();
    return res.statusCode === 200;
  }, 30_000);
  if (!ready) {
    child.kill("SIGKILL");
    throw new Error(`the bench data plane did not become ready; log ${join(dir, `${SLOT}.log`)}`);
  }
  return {
    child,
    url: `http://127.0.0.1:${http}`,
    grpc: `127.0.0.1:${grpc}`,
    ops: `http://127.0.0.1:${ops}`,
  };
}

/** The node's own count of applies (corral_dp_apply_seconds_count by result) from its ops /metrics. */
async function readApplies(opsUrl: string): Promise<Applies> {
  const res = await request(`${opsUrl}/metrics`, { headersTimeout: 5000, bodyTimeout: 5000 });
  const byResult = sumByLabel(
    parsePromText(await res.body.text()),
    "corral_dp_apply_seconds_count",
    "result",
  );
  return { changed: byResult.get("changed") ?? 0, same: byResult.get("same") ?? 0 };
}

async function startDataPlaneContender(
  upstream: BenchUpstream,
  settings: Record<string, string>,
): Promise<RunningContender> {
  const dir = await mkdtemp(join(tmpdir(), "corral-bench-dp-"));
  let postgres: TestPostgres | undefined;
  let platform: Platform | undefined;
  let node: ChildProcess | undefined;
  const stop = async () => {
    if (node) await stopChild(node);
    await platform?.stop();
    await postgres?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    postgres = await startPostgres();
    platform = await startPlatform({
      dir,
      ports: "free",
      dataPlanes: 0,
      pg: { url: postgres.url },
      demoUpstreams: false,
      logLevel: "warn",
      stopGraceMs: 3000,
    });
    const key = await configure(platform, upstream);
    const started = await spawnNode(platform, dir, settings);
    node = started.child;
    const headers = { "x-api-key": key };
    if (!(await waitUntil(() => serves(started, headers, upstream.grpc !== undefined), 30_000)))
      throw new Error(`the bench data plane does not serve the bench route; log ${join(dir, `${SLOT}.log`)}`);
    const admin = platform.admin();
    let changes = 0;
    // a plan edit republishes the snapshot: the node fetches, checks and swaps a new version
    const changeConfig = async () => {
      changes += 1;
      const burst = NEVER_BINDING.burst - (changes % 2); // the limit is the maximum: step down and back
      await putPlan(admin, "bench", { ...NEVER_BINDING, burst, shardSize: 1 });
    };
    const applies = () => readApplies(started.ops);
    return { url: started.url, grpc: started.grpc, headers, pids: [node.pid!], changeConfig, applies, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The data plane contender with `settings` (CORRAL_* variables) over the user's defaults. */
export const dataPlaneContender = (settings: Record<string, string> = {}): Contender => ({
  name: "data-plane",
  start: (upstream) => startDataPlaneContender(upstream, settings),
});
