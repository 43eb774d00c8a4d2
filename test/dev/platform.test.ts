/**
 * startPlatform as the e2e/chaos tests and the load harness use it: a real Postgres, free
 * ports, handles that kill and restart single processes, and a stop() that leaves nothing.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { bootstrapDemo } from "../../bin/dev/bootstrap-demo.ts";
import { type Platform, type PlatformEvent, startPlatform } from "../../bin/dev/platform.ts";
import { startPostgres, type TestPostgres } from "../support/postgres.ts";

async function status(url: string, apiKey: string): Promise<number> {
  const res = await fetch(url, { headers: { "x-api-key": apiKey }, signal: AbortSignal.timeout(5000) });
  await res.arrayBuffer();
  return res.status;
}

describe("startPlatform", { timeout: 90_000 }, () => {
  let dir: string;
  let postgres: TestPostgres;
  let platform: Platform;
  let apiKey: string;
  const events: PlatformEvent[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "corral-platform-"));
    postgres = await startPostgres();
    platform = await startPlatform({
      dir,
      ports: "free",
      dataPlanes: 2,
      pg: { url: postgres.url },
      dpEnv: { CORRAL_POLL_INTERVAL_MS: "1000" },
      stopGraceMs: 3000,
      onEvent: (e) => {
        if (e.type !== "line") events.push(e);
      },
    });
    const upstreams = platform.upstreams!;
    const demo = await bootstrapDemo(platform.admin(), {
      http: upstreams.http,
      grpc: `http://${upstreams.grpc}`,
    });
    apiKey = demo.apiKey.key;
    await platform.waitUntilServing("/hello", apiKey, 20_000);
  });

  after(async () => {
    await platform?.stop();
    await postgres?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("starts every process on its own free port, reporting each ready", () => {
    const ready = events.filter((e) => e.type === "ready").map((e) => e.name);
    assert.deepEqual(ready.sort(), ["cp-0", "dp-0", "dp-1", "upstreams"]);
    assert.equal(platform.postgres, undefined);
    assert.deepEqual(
      platform.dps.map((dp) => [dp.slot, dp.zone]),
      [
        ["dp-0", "zone-a"],
        ["dp-1", "zone-b"],
      ],
    );
    const urls = new Set([platform.cpUrl, ...platform.dps.flatMap((dp) => [dp.url, dp.ops])]);
    assert.equal(urls.size, 5);
  });

  it("data planes keep serving while the control plane is down, and it comes back", async () => {
    const cpPid = platform.cp.pid!;
    assert.ok(platform.cp.kill("SIGKILL"));
    const exit = await platform.cp.waitExit();
    assert.equal(exit.signal, "SIGKILL");
    assert.ok(events.some((e) => e.type === "exit" && e.name === "cp-0" && e.signal === "SIGKILL"));
    for (const dp of platform.dps) assert.equal(await status(`${dp.url}/hello`, apiKey), 200);
    await platform.cp.start();
    assert.notEqual(platform.cp.pid, cpPid);
    const fleet = await platform.admin().get<unknown>("/admin/v1/fleet");
    assert.ok(fleet);
  });

  it("a killed data plane restarts and serves again", async () => {
    const dp = platform.dps[1]!;
    dp.kill("SIGKILL");
    await dp.waitExit();
    assert.equal(dp.running, false);
    await dp.restart();
    assert.ok(dp.running);
    await platform.waitUntilServing("/hello", apiKey, 20_000);
  });

  it("stop() ends every process, idempotently", async () => {
    const pids = platform.processes().map((p) => p.pid!);
    assert.equal(pids.length, 4);
    await Promise.all([platform.stop(), platform.stop()]);
    const alive = pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    assert.deepEqual(alive, []);
    assert.ok(platform.processes().every((p) => !p.running));
    for (const role of [platform.cp, ...platform.dps]) {
      assert.deepEqual(
        await role.waitExit(),
        { code: 0, signal: null },
        `${role.name} drains and exits 0 on SIGTERM`,
      );
    }
  });
});
