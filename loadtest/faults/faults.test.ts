import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { request } from "undici";
import { nodeScript, startChild } from "../process/child-process.ts";
import { type FixedLatencyServer, startFixedLatencyServer } from "../bench/fixed-latency-server.ts";
import { findBinary, goBinDirs } from "../net/find-binary.ts";
import { freezeFor, isAlive, killAndWait } from "./signals.ts";
import { FaultTimeline } from "./timeline.ts";
import { startToxiproxy } from "./toxiproxy.ts";
import { poll } from "../../test/support/poll.ts";

let upstream: FixedLatencyServer;
before(async () => {
  upstream = await startFixedLatencyServer({ delayMs: 1 });
});
after(async () => {
  await upstream.close();
});

/** The process is stopped by a signal (Linux /proc: state T). */
async function stopped(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).startsWith("T");
}

async function timedGet(url: string): Promise<{ ms: number; status?: number; error?: string }> {
  const started = performance.now();
  try {
    const res = await request(url, { reset: true, headersTimeout: 3000 });
    await res.body.dump();
    return { ms: performance.now() - started, status: res.statusCode };
  } catch (err) {
    return { ms: performance.now() - started, error: (err as { code?: string }).code ?? String(err) };
  }
}

test("signals: freeze, thaw and kill a child, each marked on the timeline", async () => {
  const server = await startChild<{ url: string }>(
    nodeScript(new URL("../bench/fixed-latency-server.ts", import.meta.url)),
  );
  const timeline = new FaultTimeline();
  const frozen = freezeFor(server.pid, 400, timeline, "freeze server");
  await poll("the server stopped", () => stopped(server.pid));
  const during = await timedGet(`${server.ready.url}/`);
  const answeredAt = performance.timeOrigin + performance.now();
  await frozen;
  assert.equal(during.status, 200);
  const thawedAt = timeline.markers()[0]!.endEpochMs!;
  assert.ok(answeredAt >= thawedAt, `answered ${thawedAt - answeredAt} ms before the thaw though frozen`);
  assert.equal(await killAndWait(server.pid, timeline, "kill server"), true);
  assert.equal(isAlive(server.pid), false);
  const markers = timeline.markers();
  assert.deepEqual(
    markers.map((m) => [m.label, m.kind]),
    [
      ["freeze server", "signal"],
      ["kill server", "signal"],
    ],
  );
  assert.ok(markers[0]!.endEpochMs! - markers[0]!.atEpochMs >= 390);
});

test("toxiproxy: latency, reset_peer and partition between client and upstream", async () => {
  const binary = await findBinary("toxiproxy-server", {
    envVar: "TOXIPROXY_SERVER",
    extraDirs: await goBinDirs(),
  });
  assert.ok(binary, "toxiproxy-server is not installed: run .ci/install-deps");
  const timeline = new FaultTimeline();
  const toxiproxy = await startToxiproxy({ timeline, binary });
  try {
    const proxy = await toxiproxy.createProxy("upstream", new URL(upstream.url).host);
    const url = `http://${proxy.listen}/`;
    assert.equal((await timedGet(url)).status, 200);

    const removeLatency = await toxiproxy.addToxic("upstream", { type: "latency", latencyMs: 150 });
    const slow = await timedGet(url);
    assert.equal(slow.status, 200);
    assert.ok(slow.ms >= 140, `latency toxic: ${slow.ms} ms`);
    await removeLatency();

    const removeReset = await toxiproxy.addToxic("upstream", { type: "reset_peer" }, { stream: "upstream" });
    assert.ok((await timedGet(url)).error, "reset_peer must fail the request");
    await removeReset();

    const heal = await toxiproxy.partition("upstream");
    assert.equal((await timedGet(url)).error, "ECONNREFUSED");
    await heal();
    assert.equal((await timedGet(url)).status, 200);

    await assert.rejects(toxiproxy.partition("nope"), { code: "CORRAL_LOADTEST_TOXIPROXY" });
    assert.deepEqual(
      timeline.markers().map((m) => [m.kind, m.label, m.endEpochMs !== undefined]),
      [
        ["toxic", "latency on upstream", true],
        ["toxic", "reset_peer on upstream", true],
        ["partition", "partition upstream", true],
      ],
    );
    await assert.rejects(toxiproxy.createProxy("far", "10.0.0.1:80"), {
      code: "CORRAL_LOADTEST_NOT_LOOPBACK",
    });
  } finally {
    await toxiproxy.stop();
  }
  assert.equal(isAlive(toxiproxy.pid), false);
});
