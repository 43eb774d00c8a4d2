import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Pool } from "undici";
import { nodeScript, type StartedChild, startChild } from "../bench/child-process.ts";
import { startEchoGrpcServer } from "../bench/echo-grpc-server.ts";
import { STATS_PATH, startFixedLatencyServer } from "../bench/fixed-latency-server.ts";
import { freezeFor } from "../faults/signals.ts";
import { FaultTimeline } from "../faults/timeline.ts";
import type { LoadPlan } from "./plan.ts";
import { runLoad } from "./run-load.ts";
import { POLL_TIMEOUT_MS, poll } from "../../test/support/poll.ts";

// The upstream runs in its own process, as a real upstream would: the generator's
// accuracy is measured against it, not against a server sharing our event loop.
let upstream: StartedChild<{ url: string }>;
const SERVER = new URL("../bench/fixed-latency-server.ts", import.meta.url);

before(async () => {
  upstream = await startChild(nodeScript(SERVER, ["--delay-ms=20"]));
});
after(async () => {
  await upstream.stop();
});

const onePlan = (rate: number, durationSec: number, url: string): LoadPlan => ({
  tenants: [{ tenant: "t0", rate, target: { kind: "http", url: `${url}/accuracy` } }],
  durationSec,
});

async function serverStats(url: string): Promise<{ count: number; p50Ms: number }> {
  const res = await fetch(`${url}${STATS_PATH}`);
  return (await res.json()) as { count: number; p50Ms: number };
}

async function serverHeldP50(url: string): Promise<number> {
  return (await serverStats(url)).p50Ms;
}

/** Median round trip of an immediate answer over a keep-alive connection, measured without the generator. */
async function transportP50(url: string): Promise<number> {
  const pool = new Pool(url, { connections: 1 });
  const rtts: number[] = [];
  for (let i = 0; i < 101; i++) {
    const start = performance.now();
    const res = await pool.request({ path: STATS_PATH, method: "GET" });
    await res.body.dump();
    rtts.push(performance.now() - start);
  }
  await pool.close();
  return rtts.sort((a, b) => a - b)[50]!;
}

test("against a 20 ms server it reports the configured rate within 2 % and p50 within 1 ms", async () => {
  await runLoad(onePlan(400, 1, upstream.ready.url)); // warm-up: JIT, connections
  await upstream.stop();
  upstream = await startChild(nodeScript(SERVER, ["--delay-ms=20"])); // fresh hold-time record
  await runLoad(onePlan(50, 0.2, upstream.ready.url)); // connections to the fresh server
  const result = await runLoad(onePlan(400, 4, upstream.ready.url));
  assert.equal(result.totals.errors, 0, JSON.stringify(result.totals.outcomes));
  assert.equal(result.totals.scheduled, 1600);
  assert.ok(Math.abs(result.totals.sentRps - 400) <= 8, `sent ${result.totals.sentRps} rps`);
  // and it held steady: completions are bucketed by when they finish, so a few cross a
  // second's boundary either way (the 2 % requirement is the overall rate, checked above)
  for (const point of result.series.slice(1, 3))
    assert.ok(Math.abs(point.ok - 400) <= 20, `second ${point.second}: ${point.ok} completions`);
  // the known latency: what the server itself measured holding each request (its 20 ms timers
  // fire late on a loaded machine; that is not the generator's error) plus the loopback round
  // trip, measured apart from the generator
  const p50 = result.totals.latency.p50Ms;
  const held = await serverHeldP50(upstream.ready.url);
  const transport = await transportP50(upstream.ready.url);
  assert.ok(held >= 19.5 && held < 25, `the server held requests ${held} ms at p50`);
  assert.ok(transport < 5, `loopback round trip ${transport} ms`);
  const known = held + transport;
  assert.ok(
    Math.abs(p50 - known) <= 1,
    `p50 ${p50} ms vs the known ${known} ms (held ${held} + round trip ${transport})`,
  );
});

test("a 2 s server stall shows in p99.9: requests scheduled during it are charged the wait", async () => {
  const timeline = new FaultTimeline();
  const answeredBefore = (await serverStats(upstream.ready.url)).count;
  const load = runLoad(onePlan(200, 5, upstream.ready.url));
  // the stall starts 1.5 s into the schedule as the load itself tells it: 300 requests answered
  await poll(
    "the load 1.5 s in",
    async () => (await serverStats(upstream.ready.url)).count >= answeredBefore + 300,
    POLL_TIMEOUT_MS,
    10,
  );
  await freezeFor(upstream.pid, 2000, timeline, "SIGSTOP upstream");
  const result = await load;
  assert.equal(result.totals.errors, 0, JSON.stringify(result.totals.outcomes));
  // open loop: the generator kept its schedule while the server was frozen
  assert.equal(result.totals.sent, 1000);
  assert.ok(Math.abs(result.totals.sentRps - 200) <= 4, `sent ${result.totals.sentRps} rps`);
  const { p50Ms, p99Ms, p999Ms, maxMs } = result.totals.latency;
  assert.ok(p999Ms >= 1800, `p99.9 ${p999Ms} ms does not show the 2 s stall`);
  assert.ok(p99Ms >= 1600, `p99 ${p99Ms} ms`);
  assert.ok(maxMs < 2600, `max ${maxMs} ms`);
  assert.ok(p50Ms < 100, `p50 ${p50Ms} ms: most requests were outside the stall`);
  // about 400 of 1000 requests were scheduled inside the stall: p75 must be well above normal
  assert.ok(result.tenants[0]!.latency.p90Ms >= 800, `p90 ${result.tenants[0]!.latency.p90Ms} ms`);
  const frozen = result.series.filter((p) => p.second === 2);
  assert.equal(frozen[0]?.ok ?? 0, 0, "no completions during the frozen second");
  assert.equal(timeline.markers().length, 1);
});

test("requests due beyond the in-flight cap are counted as dropped at their scheduled time", async () => {
  const slow = await startFixedLatencyServer({ delayMs: 1500 });
  try {
    const result = await runLoad({ ...onePlan(100, 1, slow.url), maxInFlight: 5 });
    assert.equal(result.totals.scheduled, 100);
    assert.equal(result.totals.sent, 5);
    assert.equal(result.totals.outcomes.dropped, 95);
    assert.equal(result.totals.ok, 5);
    assert.equal(result.totals.peakInFlight, 5);
    assert.equal(
      result.series.reduce((s, p) => s + (p.outcomes.dropped ?? 0), 0),
      95,
    );
  } finally {
    await slow.close();
  }
});

test("max request count bounds the run; errors are counted by corral-reason", async () => {
  const server = await startFixedLatencyServer({
    delayMs: 1,
    reply: (n) => (n % 4 === 3 ? { status: 429, headers: { "corral-reason": "quota" } } : { status: 200 }),
  });
  try {
    const result = await runLoad({ ...onePlan(200, 10, server.url), maxRequests: 100 });
    assert.equal(result.totals.scheduled, 100);
    assert.equal(server.requests(), 100);
    assert.deepEqual(result.totals.outcomes, { ok: 75, quota: 25 });
    assert.equal(result.tenants[0]!.errors, 25);
    assert.equal(result.tenants[0]!.latency.count, 75);
  } finally {
    await server.close();
  }
});

test("two worker threads keep the combined schedule and merge their histograms", async () => {
  const server = await startFixedLatencyServer({ delayMs: 2 });
  try {
    const result = await runLoad({
      tenants: [
        { tenant: "big", rate: 200, target: { kind: "http", url: `${server.url}/a` } },
        { tenant: "small", rate: 50, target: { kind: "http", url: `${server.url}/b` } },
      ],
      durationSec: 2,
      workers: 2,
    });
    assert.equal(result.workers, 2);
    assert.deepEqual(
      result.tenants.map((t) => [t.tenant, t.scheduled, t.ok, t.latency.count]),
      [
        ["big", 400, 400, 400],
        ["small", 100, 100, 100],
      ],
    );
    assert.equal(result.totals.latency.count, 500);
    assert.ok(Math.abs(result.totals.sentRps - 250) <= 5, `sent ${result.totals.sentRps} rps`);
    assert.ok(result.totals.latency.p50Ms >= 1.5 && result.totals.latency.p50Ms < 10);
  } finally {
    await server.close();
  }
});

test("gRPC unary targets: ok and corral-reason trailers", async () => {
  const server = await startEchoGrpcServer({
    delayMs: 2,
    fail: (n) => (n % 5 === 4 ? { code: 8, reason: "quota" } : undefined),
  });
  try {
    const result = await runLoad({
      tenants: [{ tenant: "g", rate: 100, target: { kind: "grpc", address: server.address, message: "hi" } }],
      durationSec: 1,
      connections: 2,
    });
    assert.equal(server.calls(), 100);
    assert.deepEqual(result.totals.outcomes, { ok: 80, quota: 20 });
  } finally {
    await server.close();
  }
});

test("plans with non-loopback targets are refused before anything is sent", async () => {
  await assert.rejects(
    runLoad({
      tenants: [{ tenant: "x", rate: 1, target: { kind: "http", url: "http://10.0.0.1/" } }],
      durationSec: 1,
    }),
    { code: "CORRAL_LOADTEST_NOT_LOOPBACK" },
  );
  await assert.rejects(
    runLoad({
      tenants: [{ tenant: "x", rate: 1, target: { kind: "grpc", address: "10.0.0.1:5" } }],
      durationSec: 1,
    }),
    { code: "CORRAL_LOADTEST_NOT_LOOPBACK" },
  );
  await assert.rejects(runLoad({ tenants: [], durationSec: 1 }), { code: "CORRAL_LOADTEST_BAD_PLAN" });
});
