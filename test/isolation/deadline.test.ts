/**
 * Deadlines end to end (issue 4, docs/design.md §5.2): a real platform with one data plane and a 1 s
 * upstream in this process.
 *
 * Rule: a request whose remaining time is below what its route usually takes (the median of the
 * route's recent upstream latencies, once there are 5 samples, at least 1 ms) is refused at
 * once with 504 `deadline` and never proxied. While the route has fewer samples the node cannot
 * know, so it admits any request with time left, and the proxy waits only for the remaining
 * time (504 `deadline` when it runs out): the upstream then sees the request, with the time
 * left in `corral-timeout-ms`.
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import {
  call,
  type IsolationPlatform,
  isolationPlatform,
  type TestUpstream,
  testUpstream,
  waitForShard,
} from "./support.ts";
import { createTenant } from "../support/tenants.ts";

/** the upstream's time to answer: long enough that a deadline below it leaves the node ample time */
const UPSTREAM_MS = 1000;
/** far above anything a request of this file waits, so a 504 in time is the deadline's */
const ROUTE_TIMEOUT_MS = 30_000;

describe("deadlines", { timeout: 90_000 }, () => {
  let env: IsolationPlatform;
  let upstream: TestUpstream;
  let key: string;
  let node: string;
  const timeouts: string[] = [];

  before(async () => {
    upstream = await testUpstream(async (req, res) => {
      timeouts.push(String(req.headers["corral-timeout-ms"] ?? ""));
      await sleep(UPSTREAM_MS);
      res.writeHead(200).end("slow ok");
      return true;
    });
    env = await isolationPlatform({ dataPlanes: 1 });
    key = (
      await createTenant(env.admin, {
        id: "timed",
        upstream: upstream.url,
        routes: [
          { pathPrefix: "/slow", timeoutMs: ROUTE_TIMEOUT_MS },
          { pathPrefix: "/fresh", timeoutMs: ROUTE_TIMEOUT_MS },
        ],
      })
    ).key;
    await waitForShard(env.platform, "timed", key, 1);
    node = env.platform.dps[0]!.url;
  });

  after(async () => {
    await env?.stop();
    await upstream?.close();
  });

  it("the time left travels upstream, and bounds the wait", async () => {
    const started = performance.now();
    const answer = await call(`${node}/slow/a`, key, { "corral-timeout-ms": "500" });
    const ms = performance.now() - started;
    assert.equal(answer.status, 504);
    assert.equal(answer.reason, "deadline");
    assert.ok(ms < ROUTE_TIMEOUT_MS / 3, `answered after ${ms} ms, not the route's ${ROUTE_TIMEOUT_MS} ms`);
    const sent = Number(timeouts.at(-1));
    assert.ok(sent >= 1 && sent <= 500, `upstream saw corral-timeout-ms ${sent}`);
  });

  it("with 5 ms left on a route that takes 1 s: refused at once, never proxied", async () => {
    for (let i = 0; i < 6; i++) assert.equal((await call(`${node}/slow/warm`, key)).status, 200);
    const before = upstream.seen.get("/slow/late") ?? 0;
    const started = performance.now();
    const answer = await call(`${node}/slow/late`, key, { "corral-timeout-ms": "5" });
    const ms = performance.now() - started;
    assert.equal(answer.status, 504);
    assert.equal(answer.reason, "deadline");
    assert.equal(upstream.seen.get("/slow/late") ?? 0, before, "the upstream never saw it");
    // "at once": the node did not wait for the upstream (never asked) nor for the route's timeout
    assert.ok(ms < ROUTE_TIMEOUT_MS / 3, `answered in ${ms.toFixed(1)} ms`);
    const plenty = await call(`${node}/slow/late`, key, { "corral-timeout-ms": "10000" });
    assert.equal(plenty.status, 200, "a request with enough time left goes through");
  });

  it("a route without latency samples admits the request; the proxy stops at the deadline", async () => {
    const answer = await call(`${node}/fresh/x`, key, { "grpc-timeout": "300m" });
    assert.equal(answer.status, 504);
    assert.equal(answer.reason, "deadline");
    assert.equal(upstream.seen.get("/fresh/x"), 1, "admitted: the node had nothing to judge by");
  });

  it("a malformed timeout is a bad request", async () => {
    const answer = await call(`${node}/slow/a`, key, { "corral-timeout-ms": "-5" });
    assert.equal(answer.status, 400);
    assert.equal(answer.reason, "bad_request");
  });
});
