/**
 * Retries of a real node (runDataPlane) against real upstreams that fail: a 503, a reset, a
 * refused connection or a cut body on one target is retried to the other, only for requests
 * that may be sent twice, never after the answer started, never past the deadline, and never
 * beyond the upstream's retry budget.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import type { DataPlaneProcess } from "../../data-plane/main.ts";
import * as fx from "../data-plane/fixtures.ts";
import { startNode, type Workspace, workspace } from "../data-plane/support.ts";
import { metricSum } from "../support/metrics.ts";
import { poll } from "../support/poll.ts";
import { closedPort } from "../support/ports.ts";

interface Scripted {
  url: string;
  hits: number;
  bodies: string[];
  close(): Promise<void>;
}

/** An upstream that reads each request whole, counts it, then answers with `behave`. */
async function scripted(behave: (req: IncomingMessage, res: ServerResponse) => void): Promise<Scripted> {
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    up.hits++;
    up.bodies.push(Buffer.concat(chunks).toString());
    behave(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const up: Scripted = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits: 0,
    bodies: [],
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return up;
}

const ok = (_: IncomingMessage, res: ServerResponse) => res.end("ok");
const unavailable = (_: IncomingMessage, res: ServerResponse) => {
  res.writeHead(503, { "content-type": "text/plain" });
  res.end("down");
};
const reset = (req: IncomingMessage) => req.socket.destroy();
const cutBody = (_: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { "content-length": "100" });
  res.write("partial");
  setImmediate(() => res.socket?.destroy());
};
const lateUnavailable = (req: IncomingMessage, res: ServerResponse) => {
  setTimeout(() => unavailable(req, res), 300);
};

const pair = fx.signingPair();
const ups: Record<string, Scripted> = {};
const keys: Record<string, ReturnType<typeof fx.newKey>> = {};
let ws: Workspace;
let node: DataPlaneProcess;

/** Tenant `id` whose one route retries `retries` times over the targets `targets`. */
function tenant(id: string, targets: string[], retries: number, budget?: fx.TenantSpec["retryBudget"]) {
  keys[id] = fx.newKey();
  return fx.tenant({
    id,
    upstream: targets,
    keys: [{ id: `k-${id}`, hash: keys[id]!.hash }],
    routes: [{ id: "all", pathPrefix: "/", retries }],
    retryBudget: budget,
  });
}

before(async () => {
  ws = await workspace();
  for (const [name, behave] of Object.entries({
    a503: unavailable,
    aGood: ok,
    bReset: reset,
    bGood: ok,
    cGood: ok,
    dCut: cutBody,
    dGood: ok,
    e1: unavailable,
    e2: unavailable,
    f1: lateUnavailable,
    f2: lateUnavailable,
    g503: unavailable,
    gGood: ok,
  }))
    ups[name] = await scripted(behave);
  const refused = `http://127.0.0.1:${await closedPort()}`;
  const u = (name: string) => ups[name]!.url;
  const snap = fx.snapshot(1, [
    tenant("unavailable", [u("a503"), u("aGood")], 2),
    tenant("resetting", [u("bReset"), u("bGood")], 2),
    tenant("refusing", [refused, u("cGood")], 2),
    tenant("cutting", [u("dCut"), u("dGood")], 2),
    tenant("outage", [u("e1"), u("e2")], 3, { percent: 10, minPerSecond: 0, windowMs: 60_000 }),
    tenant("late", [u("f1"), u("f2")], 5),
    tenant("none", [u("g503"), u("gGood")], 0),
  ]);
  await fx.publish(ws.store, fx.sign(snap, pair));
  // the balancer's draws are fixed (upstream/balancer.ts): with both targets idle the first one
  // takes the first attempt, so a retry must go to the second (it excludes the tried origin)
  node = await startNode({
    ws,
    pair,
    cpUrl: `http://127.0.0.1:${await closedPort()}`,
    options: { random: () => 0 },
  });
  await poll("the node to apply LATEST", () => node.state.ready);
});

after(async () => {
  await node.close();
  await Promise.all(Object.values(ups).map((up) => up.close()));
  await ws.remove();
});

function call(tenantId: string, init: RequestInit = {}, path = "/x") {
  const headers = new Headers(init.headers);
  headers.set("x-api-key", keys[tenantId]!.key);
  return fetch(node.httpUrl + path, { ...init, headers, signal: AbortSignal.timeout(20_000) });
}

test("a 503 from one target is retried on the other: the client gets the other's answer", async () => {
  const res = await call("unavailable");
  assert.deepEqual([res.status, await res.text()], [200, "ok"]);
  assert.deepEqual([ups.a503!.hits, ups.aGood!.hits], [1, 1]);
});

test("a reset before the answer, and a refused connection, are retried on the other target", async () => {
  const reset = await call("resetting");
  assert.equal(reset.status, 200);
  await reset.text();
  assert.deepEqual([ups.bReset!.hits, ups.bGood!.hits], [1, 1]);
  const refused = await call("refusing");
  assert.equal(refused.status, 200);
  await refused.text();
});

test("a POST without an Idempotency-Key is never retried; with one it is, body and all", async () => {
  const before = [ups.a503!.hits, ups.aGood!.hits];
  const post = await call("unavailable", { method: "POST", body: "order-1" });
  assert.equal(post.status, 503, "the upstream's own 503, relayed");
  assert.equal(await post.text(), "down");
  assert.deepEqual([ups.a503!.hits, ups.aGood!.hits], [before[0]! + 1, before[1]!]);
  const keyed = await call("unavailable", {
    method: "POST",
    body: "order-2",
    headers: { "idempotency-key": "k-2" },
  });
  assert.equal(keyed.status, 200);
  await keyed.text();
  assert.deepEqual(ups.aGood!.bodies.at(-1), "order-2");
  assert.deepEqual([ups.a503!.hits, ups.aGood!.hits], [before[0]! + 2, before[1]! + 1]);
});

test("a PUT body is sent again whole; a body over the retry bound streams and is not retried", async () => {
  const small = await call("unavailable", { method: "PUT", body: "x".repeat(1000) });
  assert.equal(small.status, 200);
  await small.text();
  assert.equal(ups.aGood!.bodies.at(-1), "x".repeat(1000));
  const good = ups.aGood!.hits;
  const large = await call("unavailable", { method: "PUT", body: "y".repeat(70 * 1024) });
  assert.equal(large.status, 503);
  await large.text();
  assert.equal(ups.aGood!.hits, good);
});

test("no retry once the answer started: a body cut after its first bytes is not sent again", async () => {
  const res = await call("cutting");
  assert.equal(res.status, 200);
  await assert.rejects(res.text());
  assert.deepEqual([ups.dCut!.hits, ups.dGood!.hits], [1, 0]);
});

test("a route with no retries relays the 503", async () => {
  const res = await call("none");
  assert.deepEqual([res.status, await res.text()], [503, "down"]);
  assert.deepEqual([ups.g503!.hits, ups.gGood!.hits], [1, 0]);
});

test("the deadline bounds the retries: no attempt starts after it, the client gets 504", async () => {
  const started = performance.now();
  const res = await call("late", { headers: { "corral-timeout-ms": "500" } });
  const elapsed = performance.now() - started;
  assert.equal(res.status, 504);
  assert.equal(res.headers.get("corral-reason"), "deadline");
  await res.text();
  assert.ok(elapsed < 5_000, `answered after ${elapsed} ms`);
  // one attempt answered 503 at 300 ms, the retry ran into the deadline; no third
  await poll("both attempts seen", () => ups.f1!.hits + ups.f2!.hits === 2 || undefined, 5_000);
  assert.equal(ups.f1!.hits + ups.f2!.hits, 2);
});

test("when every target fails, the budget caps retries at 10 % of the requests", async () => {
  const requests = 60;
  for (let i = 0; i < requests; i++) {
    const res = await call("outage");
    assert.equal(res.status, 503);
    await res.text();
  }
  const hits = ups.e1!.hits + ups.e2!.hits;
  // without the budget: 4 attempts each (240); with it: each request plus at most 10 % of them
  assert.ok(hits <= requests * 1.1, `${hits} attempts for ${requests} requests`);
  assert.ok(hits > requests, "some retries were allowed");
  assert.ok((await metricSum(node.opsUrl, "corral_dp_retry_budget_exhausted_total")) > 0);
  assert.ok((await metricSum(node.opsUrl, "corral_dp_upstream_retries_total")) >= hits - requests);
  assert.ok((await metricSum(node.opsUrl, "corral_dp_upstream_attempts_total")) >= hits);
});
