/**
 * The blob store goes away while the control plane stays up (docs/design.md §3.3), with real
 * processes: one control plane, Postgres, two data planes pulling LATEST every second, and an
 * S3 blob store (MinIO) that the control plane and the nodes reach through two toxiproxy
 * proxies, so either side can be cut off.
 *
 * 1. The nodes lose the blob store, the control plane keeps it: they keep serving, report
 *    the fetch error in Status (their /status and the control plane's fleet view), Nack the
 *    version the control plane publishes and announces meanwhile, and apply it within one
 *    poll period once the store is back.
 * 2. The store is gone for everyone: the nodes keep serving and report the fetch error; a
 *    change made meanwhile cannot be published; once the store is back the control plane
 *    publishes it (its retry backoff) and every node applies it.
 * A probe sends requests to every tenant on every node throughout; none may fail.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startToxiproxy, type Toxiproxy } from "../../loadtest/faults/toxiproxy.ts";
import { type S3Server, startS3Server } from "../support/minio.ts";
import { freePort } from "../support/ports.ts";
import {
  type ChaosPlatform,
  configVersions,
  chaosTenant,
  fleet,
  nodeStatus,
  request,
  startChaosPlatform,
  startProbe,
} from "./static-stability-support.ts";
import { createTenant } from "../support/tenants.ts";
import { poll } from "../support/poll.ts";

const POLL_INTERVAL_MS = 1000;
/** the pull period is jittered by up to 20 %; then fetch, verify, decode and swap on a busy machine */
const ONE_PERIOD_MS = POLL_INTERVAL_MS * 1.2 + 2000;
const CP_RETRY_AND_PERIOD_MS = 15_000;

describe("blob store outage while the control plane is up", { timeout: 90_000 }, () => {
  let s3: S3Server;
  let toxiproxy: Toxiproxy;
  let c: ChaosPlatform;
  let probe: ReturnType<typeof startProbe>;

  before(async () => {
    s3 = await startS3Server();
    toxiproxy = await startToxiproxy();
    const minio = new URL(s3.endpoint).host;
    const cpProxy = await toxiproxy.createProxy("blobs-cp", minio, `127.0.0.1:${await freePort()}`);
    const dpProxy = await toxiproxy.createProxy("blobs-dp", minio, `127.0.0.1:${await freePort()}`);
    const { CORRAL_S3_ENDPOINT: _direct, ...credentials } = s3.env;
    c = await startChaosPlatform({
      dataPlanes: 2,
      blobUrl: `s3://${s3.bucket}/corral`,
      extraEnv: credentials,
      cpEnv: { CORRAL_S3_ENDPOINT: `http://${cpProxy.listen}` },
      dpEnv: {
        CORRAL_S3_ENDPOINT: `http://${dpProxy.listen}`,
        CORRAL_POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
      },
    });
    probe = startProbe(c.platform.dps, c.tenants);
  });

  after(async () => {
    await probe?.stop();
    await c?.stop();
    await toxiproxy?.stop();
    await s3?.stop();
  });

  /** every node on the newest published version, Acked: nothing in flight */
  async function settled(): Promise<number[]> {
    return poll(
      "every node on the newest version",
      async () => {
        const newest = (await configVersions(c.platform))[0]!;
        const now = await versions();
        return newest.acks === now.length && now.every((v) => v === newest.version) && now;
      },
      15_000,
    );
  }

  async function versions(): Promise<number[]> {
    return Promise.all(c.platform.dps.map(async (dp) => (await nodeStatus(dp)).version));
  }

  /** every node reports a failed fetch in /status and, through Status, in the fleet view */
  async function fetchErrorsReported(): Promise<void> {
    for (const dp of c.platform.dps) {
      await poll(
        `${dp.slot} reports the fetch error`,
        async () => (await nodeStatus(dp)).fetchError !== null,
        10_000,
      );
    }
    await poll(
      "the fleet view shows every node's fetch error",
      async () => {
        const nodes = await fleet(c.platform);
        return (
          nodes.length === c.platform.dps.length && nodes.every((n) => n.lastError?.startsWith("fetch: "))
        );
      },
      10_000,
    );
  }

  /** ms from `started` until every node answers 200 for `key` */
  async function servedEverywhere(key: string, started: number, timeoutMs: number): Promise<number> {
    await poll(
      "every node serves the key",
      async () => (await Promise.all(c.platform.dps.map((dp) => request(dp, key)))).every((a) => a === "200"),
      timeoutMs,
      20,
    );
    return Date.now() - started;
  }

  async function everyNodeOn(version: number, timeoutMs: number): Promise<number> {
    const started = Date.now();
    await poll(
      `every node on version ${version}`,
      async () => (await versions()).every((v) => v >= version),
      timeoutMs,
      20,
    );
    return Date.now() - started;
  }

  it("nodes cut off from the store: keep serving, report it, apply the newest within one period of its return", async (t) => {
    const before = await settled();
    const heal = await toxiproxy.partition("blobs-dp");
    await fetchErrorsReported();
    assert.deepEqual(await versions(), before, "nothing changed on the nodes");

    const late = await createTenant(
      c.platform.admin(),
      chaosTenant("during-node-outage", c.platform.upstreams!.http),
    );
    const published = await poll(
      "a version published and Nacked by every node (announced, not fetched)",
      async () =>
        (await configVersions(c.platform)).find((v) => v.version > Math.max(...before) && v.nacks === 2),
      15_000,
    );
    assert.deepEqual(await versions(), before);
    for (const dp of c.platform.dps) assert.notEqual(await request(dp, late.key), "200");

    await heal();
    const healed = Date.now();
    const appliedMs = await everyNodeOn(published.version, ONE_PERIOD_MS + 5000);
    t.diagnostic(
      `store back -> every node on version ${published.version}: ${appliedMs} ms (poll period ${POLL_INTERVAL_MS} ms ±20 %)`,
    );
    assert.ok(appliedMs <= ONE_PERIOD_MS, `applied ${appliedMs} ms after the store came back`);
    // the tenant's calls (tenant, upstream, route, key) may span versions: the first one Nacked
    // may predate its key; the newest, published meanwhile, is on every node within a period too
    const servedMs = await servedEverywhere(late.key, healed, ONE_PERIOD_MS + 5000);
    assert.ok(servedMs <= ONE_PERIOD_MS, `the new tenant served ${servedMs} ms after the store came back`);
    for (const dp of c.platform.dps) {
      // the swap shows in /status a moment before the outcome (after the disk cache write) clears the error
      await poll(
        `${dp.slot} clears its fetch error`,
        async () => (await nodeStatus(dp)).fetchError === null,
        5000,
      );
    }
  });

  it("store gone for everyone: nodes keep serving; the change made meanwhile is published and applied after", async (t) => {
    const before = await settled();
    const heals = [await toxiproxy.partition("blobs-dp"), await toxiproxy.partition("blobs-cp")];
    await fetchErrorsReported();

    const late = await createTenant(
      c.platform.admin(),
      chaosTenant("during-full-outage", c.platform.upstreams!.http),
    );
    await poll(
      "the fleet view still shows the fetch errors",
      async () => {
        const nodes = await fleet(c.platform);
        return nodes.every((n) => n.lastError?.startsWith("fetch: "));
      },
      5000,
    );
    const newest = (await configVersions(c.platform))[0]!;
    assert.ok(newest.version <= Math.max(...before), "nothing could be published without the store");
    assert.deepEqual(await versions(), before);

    const healedAt = Date.now();
    for (const heal of heals) await heal();
    for (const dp of c.platform.dps) {
      await poll(
        `${dp.slot} serves the tenant created during the outage`,
        async () => (await request(dp, late.key)) === "200",
        CP_RETRY_AND_PERIOD_MS,
      );
    }
    t.diagnostic(`store back -> the change published and served by every node: ${Date.now() - healedAt} ms`);
    const result = await probe.stop();
    t.diagnostic(`probe: ${result.sent} requests, ${result.failures.length} failed`);
    assert.ok(result.sent > 40, `probe sent ${result.sent}`);
    assert.deepEqual(result.failures, []);
  });
});
