/**
 * The platform under test, as a scenario starts it: a real Postgres (test/support), then
 * startPlatform (bin/dev/platform.ts) with control planes and data planes as child
 * processes on free ports, in a temp directory. Every process is registered with the
 * sampler (RSS, fds; heap and event-loop delay from the control planes' /metrics and
 * the data planes' ops /metrics) and everything is stopped by the scenario's cleanup.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AdminClient } from "../../bin/admin/admin-client.ts";
import type { Env } from "../../bin/dev/managed-child.ts";
import { type DataPlaneHandle, type Platform, startPlatform } from "../../bin/dev/platform.ts";
import { startPostgres, type TestPostgres } from "../../test/support/postgres.ts";
import { nodeScript, type StartedChild, startChild } from "../process/child-process.ts";
import type { Params, ScenarioContext } from "../scenario/types.ts";

export type RigOptions = {
  dataPlanes: number;
  controlPlanes?: number;
  /** DP CORRAL_POLL_INTERVAL_MS (constant-work pull of LATEST); default 2000 */
  pollIntervalMs?: number;
  /** more environment for every data plane (e.g. CORRAL_REDIS_URL) */
  dpEnv?: Env | ((slot: string, index: number) => Env);
  cpEnv?: Env;
  /** for control and data planes (e.g. S3 credentials) */
  extraEnv?: Env;
  blobUrl?: string;
  logLevel?: string;
};

export type Rig = {
  platform: Platform;
  admin: AdminClient;
  postgres: TestPostgres;
  /** data planes as {slot, url, ops} (running or not) */
  nodes(): DataPlaneHandle[];
  /** registers every running process with the sampler again (after a restart: new pid) */
  watchProcesses(): void;
};

export async function startRig<P extends Params>(ctx: ScenarioContext<P>, o: RigOptions): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), "corral-loadtest-"));
  ctx.onCleanup(() => rm(dir, { recursive: true, force: true }));
  const since = performance.now();
  const postgres = await startPostgres();
  ctx.onCleanup(() => postgres.stop());
  if (postgres.pid) ctx.sampler.add({ name: "postgres", pid: postgres.pid });
  const dpEnv = (slot: string, i: number): Env => ({
    CORRAL_POLL_INTERVAL_MS: String(o.pollIntervalMs ?? 2000),
    ...(typeof o.dpEnv === "function" ? o.dpEnv(slot, i) : o.dpEnv),
  });
  const platform = await startPlatform({
    dir,
    ports: "free",
    dataPlanes: o.dataPlanes,
    controlPlanes: o.controlPlanes ?? 1,
    pg: { url: postgres.url },
    demoUpstreams: false,
    dpEnv,
    cpEnv: o.cpEnv,
    extraEnv: o.extraEnv,
    blobUrl: o.blobUrl,
    logLevel: o.logLevel,
    stopGraceMs: 3000,
    signal: ctx.signal,
    onEvent: (e) => {
      if (e.type === "exit")
        ctx.log(`${e.name} exited (code ${e.code}, signal ${e.signal}); log ${e.logFile}`);
    },
  });
  ctx.onCleanup(() => platform.stop());
  ctx.log(
    `platform up in ${Math.round(performance.now() - since)} ms: ${platform.cps.length} CP, ${platform.dps.length} DP, logs in ${dir}/logs`,
  );
  const rig: Rig = {
    platform,
    admin: platform.admin(),
    postgres,
    nodes: () => platform.dps,
    watchProcesses: () => {
      for (const cp of platform.cps)
        if (cp.pid) ctx.sampler.add({ name: cp.name, pid: cp.pid, metricsUrl: `${cp.url}/metrics` });
      for (const dp of platform.dps)
        if (dp.pid) ctx.sampler.add({ name: dp.slot, pid: dp.pid, metricsUrl: `${dp.ops}/metrics` });
    },
  };
  rig.watchProcesses();
  return rig;
}

const UPSTREAM = new URL("../bench/fixed-latency-server.ts", import.meta.url);

const POISON_UPSTREAM = new URL("./poison-upstream.ts", import.meta.url);

/**
 * A tenant upstream in its own process: answers every request after `delayMs`; a poison
 * upstream also marks answers to `/poison` paths with the data planes' crash header.
 */
export async function startUpstream<P extends Params>(
  ctx: ScenarioContext<P>,
  name: string,
  delayMs: number,
  kind: "plain" | "poison" = "plain",
): Promise<StartedChild<{ url: string }>> {
  const script = kind === "poison" ? POISON_UPSTREAM : UPSTREAM;
  const upstream = await startChild<{ url: string }>(nodeScript(script, [`--delay-ms=${delayMs}`]));
  ctx.onCleanup(() => upstream.stop());
  ctx.sampler.add({ name, pid: upstream.pid });
  return upstream;
}
