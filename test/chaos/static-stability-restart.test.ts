/**
 * A data plane restarted with nothing to talk to (docs/design.md §3.3 static stability), with real
 * processes: one control plane, Postgres, an S3 blob store (MinIO) and one data plane. With
 * the node serving, the control plane, Postgres and MinIO are all SIGKILLed; then the node is
 * restarted four times (after SIGKILL, SIGTERM, SIGKILL, SIGTERM). Each time it comes back from its
 * disk cache with the version it had, and keeps serving while every pull fails, reporting the
 * fetch error and a growing config age.
 *
 * Ready within 2 s: measured from the spawn of the process to its first /readyz 200 and its
 * first proxied 200. On a shared 2-core machine another process can take the core for a
 * second while Node loads its modules, so the bound is checked on the fastest of the four
 * restarts (the node's own capability), and every restart must be ready within 10 s.
 */
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { after, before, describe, it } from "node:test";
import type { DataPlaneHandle } from "../../bin/dev/platform.ts";
import { type S3Server, startS3Server } from "../support/minio.ts";
import { type ChaosPlatform, nodeStatus, request, startChaosPlatform } from "./static-stability-support.ts";
import { poll } from "../support/poll.ts";

const READY_WITHIN_MS = 2000;
/** any single restart, however busy the machine (catches a node that hangs at boot) */
const EVERY_RESTART_WITHIN_MS = 10_000;
const RESTARTS = ["SIGKILL", "SIGTERM", "SIGKILL", "SIGTERM"] as const;
const POLL_INTERVAL_MS = 1000;

/** ms from `t0` until `probe` first succeeds (probing every 10 ms), or Infinity after 10 s */
async function firstSuccess(t0: number, probe: () => Promise<boolean>): Promise<number> {
  const left = 10_000 - (performance.now() - t0);
  return poll("the first success", probe, Math.max(0, left), 10).then(
    () => performance.now() - t0,
    () => Number.POSITIVE_INFINITY,
  );
}

async function readyz(dp: DataPlaneHandle): Promise<boolean> {
  const res = await fetch(`${dp.ops}/readyz`, { signal: AbortSignal.timeout(1000) });
  await res.arrayBuffer();
  return res.status === 200;
}

describe("a data plane restarted with the control plane, Postgres and the blob store down", {
  timeout: 90_000,
}, () => {
  let s3: S3Server;
  let c: ChaosPlatform;
  let dp: DataPlaneHandle;
  let version: number;
  const restarts: number[] = [];

  before(async () => {
    s3 = await startS3Server();
    c = await startChaosPlatform({
      dataPlanes: 1,
      blobUrl: `s3://${s3.bucket}/corral`,
      extraEnv: s3.env,
      dpEnv: { CORRAL_POLL_INTERVAL_MS: String(POLL_INTERVAL_MS) },
    });
    dp = c.platform.dps[0]!;
    const pgPid = c.postgres.pid;
    const s3Pid = s3.pid;
    assert.ok(pgPid && s3Pid, "private Postgres and MinIO servers are needed to kill them");
    c.platform.cp.kill("SIGKILL");
    process.kill(pgPid, "SIGKILL");
    process.kill(s3Pid, "SIGKILL");
    await c.platform.cp.waitExit();
    // the version the node has once a pull has failed: nothing can reach it after that (the CP
    // may still have published one more version, for the node's own joining, before it died),
    // and a failed pull's outcome comes after the last apply's disk cache write
    const cut = await poll(
      "the node's first failed pull",
      async () => {
        const s = await nodeStatus(dp);
        return s.fetchError !== null && s;
      },
      5 * POLL_INTERVAL_MS + 10_000,
    );
    version = cut.version;
    assert.ok(version > 0);
    for (const t of c.tenants) assert.equal(await request(dp, t.key), "200");
  });

  after(async () => {
    await c?.stop();
    await s3?.stop();
  });

  async function restartAndMeasure(t: { diagnostic(m: string): void }, how: "SIGKILL" | "SIGTERM") {
    if (how === "SIGKILL") {
      dp.kill("SIGKILL");
      await dp.waitExit();
    } else {
      await dp.stop();
    }
    const t0 = performance.now();
    const started = dp.start();
    const key = c.tenants[0]!.key;
    const [readyMs, servedMs] = await Promise.all([
      firstSuccess(t0, () => readyz(dp)),
      firstSuccess(t0, async () => (await request(dp, key)) === "200"),
    ]);
    await started;
    t.diagnostic(
      `after ${how}: /readyz 200 at ${Math.round(readyMs)} ms, proxied 200 at ${Math.round(servedMs)} ms`,
    );
    assert.ok(readyMs <= EVERY_RESTART_WITHIN_MS, `ready ${Math.round(readyMs)} ms after spawn`);
    assert.ok(
      servedMs <= EVERY_RESTART_WITHIN_MS,
      `first proxied 200 ${Math.round(servedMs)} ms after spawn`,
    );
    restarts.push(Math.max(readyMs, servedMs));
    const status = await nodeStatus(dp);
    assert.equal(status.version, version, "serves the version it had, from its disk cache");
    assert.equal(status.connected, false);
  }

  async function keepsServingWhilePullsFail(): Promise<void> {
    const status = await poll(
      "a failed pull reported",
      async () => {
        const s = await nodeStatus(dp);
        return s.fetchError !== null && s.lastError?.code === "CORRAL_DP_CONFIG_FETCH" && s;
      },
      5 * POLL_INTERVAL_MS + 10_000,
    );
    assert.equal(status.version, version);
    assert.ok(status.ready);
    for (const t of c.tenants) assert.equal(await request(dp, t.key), "200", t.id);
    const later = await poll(
      "config age grows",
      async () => {
        const s = await nodeStatus(dp);
        return s.configAgeMs! > status.configAgeMs! + POLL_INTERVAL_MS && s;
      },
      10_000,
    );
    assert.equal(later.version, version);
  }

  for (const how of RESTARTS) {
    it(`after ${how}: back from the disk cache, serving while every pull fails`, async (t) => {
      await restartAndMeasure(t, how);
      await keepsServingWhilePullsFail();
    });
  }

  it("ready and serving within 2 s of spawn (fastest of the restarts)", (t) => {
    const fastest = Math.min(...restarts);
    t.diagnostic(`spawn -> ready and serving: ${restarts.map(Math.round).join(", ")} ms`);
    assert.equal(restarts.length, RESTARTS.length);
    assert.ok(
      fastest <= READY_WITHIN_MS,
      `fastest restart ready and serving after ${Math.round(fastest)} ms`,
    );
  });
});
