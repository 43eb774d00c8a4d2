/**
 * The tenant request path of a real node (runDataPlane) against a real upstream: identification,
 * routing, proxying, every rejection with its corral-reason, ops endpoints, drain.
 */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, test } from "node:test";
import type { DataPlaneProcess } from "../../data-plane/main.ts";
import * as fx from "./fixtures.ts";
import { recordingUpstream, startNode, type Workspace, workspace } from "./support.ts";
import { closedPort } from "../support/ports.ts";
import { poll } from "../support/poll.ts";

const pair = fx.signingPair();
const invokeKey = fx.newKey();
const manageKey = fx.newKey();
const suspendedKey = fx.newKey();
const deadKey = fx.newKey();
let ws: Workspace;
let upstream: Awaited<ReturnType<typeof recordingUpstream>>;
let node: DataPlaneProcess;
const logs: string[] = [];

before(async () => {
  ws = await workspace();
  upstream = await recordingUpstream();
  const dead = `http://127.0.0.1:${await closedPort()}`;
  const snap = fx.snapshot(1, [
    fx.tenant({
      id: "acme",
      upstream: upstream.url,
      keys: [
        { id: invokeKey.id, hash: invokeKey.hash },
        { id: manageKey.id, hash: manageKey.hash, scopes: ["manage"] },
      ],
      routes: [
        { id: "api", pathPrefix: "/api" },
        { id: "strip", pathPrefix: "/strip", stripPrefix: true },
        { id: "slow", pathPrefix: "/slow", timeoutMs: 300 },
        { id: "hosted", pathPrefix: "/", hosts: ["shop.example.com"] },
        { id: "writes", pathPrefix: "/orders", methods: ["POST"] },
      ],
    }),
    fx.tenant({
      id: "frozen",
      status: "suspended",
      upstream: upstream.url,
      keys: [{ id: suspendedKey.id, hash: suspendedKey.hash }],
    }),
    fx.tenant({ id: "gone", upstream: dead, keys: [{ id: deadKey.id, hash: deadKey.hash }] }),
  ]);
  await fx.publish(ws.store, fx.sign(snap, pair));
  node = await startNode({
    ws,
    pair,
    cpUrl: `http://127.0.0.1:${await closedPort()}`,
    env: { CORRAL_LOG_LEVEL: "info" },
    options: { logStream: { write: (line: string) => logs.push(line) } },
  });
  await poll("the node to apply LATEST", () => node.state.ready);
});

after(async () => {
  await node.close();
  await upstream.close();
  await ws.remove();
});

function call(path: string, init: RequestInit & { key?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.key) headers.set("x-api-key", init.key);
  return fetch(node.httpUrl + path, { ...init, headers });
}

/** A request sent exactly as written (fetch would normalise the path and the host). */
function raw(path: string, headers: Record<string, string>): Promise<{ status: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(node.httpUrl, { path, headers });
    req.on("response", (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, reason: String(res.headers["corral-reason"]) });
    });
    req.on("error", reject);
    req.end();
  });
}

async function rejected(res: Response, status: number, reason: string, code: string): Promise<void> {
  assert.equal(res.status, status);
  assert.equal(res.headers.get("corral-reason"), reason);
  assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/);
  const body = (await res.json()) as { status: number; code: string; type: string; title: string };
  assert.equal(body.status, status);
  assert.equal(body.code, code);
}

test("a request with a valid key reaches the upstream with credentials stripped and forwarding headers added", async () => {
  const res = await call("/api/items?page=2", {
    key: invokeKey.key,
    headers: { "corral-tenant": "someone-else", "x-custom": "kept" },
  });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "echo GET /api/items?page=2 ");
  assert.equal(res.headers.get("x-upstream"), "yes");
  assert.notEqual(
    res.headers.get("keep-alive"),
    "timeout=5",
    "the upstream's hop-by-hop headers stay behind",
  );
  const seen = upstream.seen.at(-1)!;
  assert.equal(seen.headers["x-api-key"], undefined);
  assert.equal(seen.headers.authorization, undefined);
  assert.equal(seen.headers["corral-tenant"], "acme");
  assert.equal(seen.headers["x-custom"], "kept");
  assert.equal(seen.headers["x-forwarded-for"], "127.0.0.1");
  assert.equal(seen.headers["x-forwarded-proto"], "http");
  assert.equal(seen.headers["x-forwarded-host"], new URL(node.httpUrl).host);
});

test("Authorization: Bearer works too, bodies stream both ways, prefixes strip", async () => {
  const res = await call("/strip/orders", {
    method: "PUT",
    headers: { authorization: `Bearer ${invokeKey.key}`, "content-type": "application/json" },
    body: JSON.stringify({ n: 1 }),
  });
  assert.equal(await res.text(), 'echo PUT /orders {"n":1}');
  assert.equal(upstream.seen.at(-1)!.headers.authorization, undefined);
  const big = "x".repeat(3 * 1024 * 1024);
  const echoed = await (await call("/api/upload", { method: "POST", key: invokeKey.key, body: big })).text();
  assert.equal(echoed.length, `echo POST /api/upload `.length + big.length);
});

test("host and method decide among routes", async () => {
  assert.equal((await call("/orders", { method: "POST", key: invokeKey.key })).status, 200);
  await rejected(await call("/orders", { key: invokeKey.key }), 404, "no_route", "CORRAL_DP_NO_ROUTE");
  const hosted = await raw("/anything", { host: "SHOP.example.com:8080", "x-api-key": invokeKey.key });
  assert.equal(hosted.status, 200);
  assert.equal(upstream.seen.at(-1)!.url, "/anything");
});

test("missing, unknown and manage-only keys are 401; a suspended tenant is 403", async () => {
  await rejected(await call("/api"), 401, "unauthorized", "CORRAL_DP_UNAUTHORIZED");
  await rejected(await call("/api", { key: fx.newKey().key }), 401, "unauthorized", "CORRAL_DP_UNAUTHORIZED");
  await rejected(await call("/api", { key: manageKey.key }), 401, "unauthorized", "CORRAL_DP_UNAUTHORIZED");
  await rejected(
    await call("/api", { key: suspendedKey.key }),
    403,
    "suspended",
    "CORRAL_DP_TENANT_SUSPENDED",
  );
});

test("an unreachable upstream is 502, a slow one 504", async () => {
  await rejected(await call("/x", { key: deadKey.key }), 502, "upstream_error", "CORRAL_DP_UPSTREAM_ERROR");
  const started = Date.now();
  await rejected(
    await call("/slow/5000", { key: invokeKey.key }),
    504,
    "upstream_timeout",
    "CORRAL_DP_UPSTREAM_TIMEOUT",
  );
  assert.ok(Date.now() - started < 4000, "the route's 300 ms timeout applies, not the upstream's 5 s");
});

test("dot segments, oversized bodies and oversized headers are refused", async () => {
  for (const path of ["/api/%2e%2e/admin", "/api/../admin", "/api/./x"]) {
    const res = await raw(path, { "x-api-key": invokeKey.key });
    assert.deepEqual([res.status, res.reason], [400, "bad_path"], path);
  }
  const tooLarge = await new Promise<{ status: number; reason: string }>((resolve, reject) => {
    const req = httpRequest(`${node.httpUrl}/api`, {
      method: "POST",
      headers: { "x-api-key": invokeKey.key, "content-length": String(17 * 1024 * 1024) },
    });
    req.on("response", (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, reason: String(res.headers["corral-reason"]) });
      req.destroy();
    });
    req.on("error", reject);
    req.write("x");
  });
  assert.deepEqual(tooLarge, { status: 413, reason: "payload_too_large" });
  const res = await call("/api", { key: invokeKey.key, headers: { "x-big": "y".repeat(20_000) } });
  assert.equal(res.status, 431);
  assert.equal(res.headers.get("corral-reason"), "headers_too_large");
});

test("ops endpoints: health, readiness, status, bounded metrics", async () => {
  assert.equal((await fetch(`${node.opsUrl}/healthz`)).status, 200);
  assert.deepEqual(await (await fetch(`${node.opsUrl}/readyz`)).json(), {
    ready: true,
    version: 1,
    draining: false,
  });
  const status = (await (await fetch(`${node.opsUrl}/status`)).json()) as Record<string, unknown>;
  assert.equal(status.slot, "dp-0");
  assert.equal(status.zone, "zone-b");
  assert.equal(status.version, 1);
  assert.equal(status.tenants, 3);
  assert.equal(status.connected, false);
  assert.equal(typeof status.configAgeMs, "number");
  const metrics = await (await fetch(`${node.opsUrl}/metrics`)).text();
  assert.match(metrics, /corral_dp_requests_total\{reason="upstream",status_class="2xx"\} \d+/);
  assert.match(metrics, /corral_dp_requests_total\{reason="unauthorized",status_class="4xx"\} [1-9]/);
  assert.match(metrics, /corral_dp_config_version 1/);
  assert.match(metrics, /corral_dp_config_age_seconds \d/);
  assert.match(metrics, /corral_dp_apply_seconds_count\{result="changed"\} 1/);
});

test("one log line per request, and keys never appear in the log", async () => {
  const before = logs.filter((l) => l.includes('"msg":"request"')).length;
  await call("/api/logged", { key: invokeKey.key });
  await call("/api/logged", { headers: { authorization: `Bearer ${suspendedKey.key}` } });
  const lines = await poll("request log lines", () => {
    const requestLines = logs.filter((l) => l.includes('"msg":"request"'));
    return requestLines.length >= before + 2 && requestLines;
  });
  assert.equal(lines.length, before + 2);
  const last = JSON.parse(lines.at(-2)!) as Record<string, unknown>;
  assert.deepEqual(
    [last.method, last.path, last.status, last.tenant, last.route],
    ["GET", "/api/logged", 200, "acme", "api"],
  );
  assert.ok(logs.some((l) => l.includes('"msg":"listening"') && l.includes(node.httpUrl)));
  for (const secret of [invokeKey.key, suspendedKey.key, manageKey.key]) {
    assert.ok(!logs.some((l) => l.includes(secret)), "an API key was logged");
  }
});
