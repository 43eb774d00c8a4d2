/**
 * Balancing, outlier ejection, circuit_open and active health checks of a real node against
 * three real upstream processes behind toxiproxy (loadtest/faults/brownout-rig.ts): one target
 * answering 503 / resetting / slow, all of them gone and back, one failing its health check;
 * HTTP and gRPC. No retries here: the figures are the balancer's and the ejection's alone.
 */
import assert from "node:assert/strict";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { after, before, test } from "node:test";
import { type BrownoutRig, startBrownoutRig } from "../../loadtest/faults/brownout-rig.ts";
import type { DataPlaneProcess } from "../../data-plane/main.ts";
import { EchoClient } from "../../proto/gen/corral/demo/v1/echo.ts";
import { FleetSettings } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { DEFAULT_HEALTH_CHECK } from "../../proto/upstream-policy.ts";
import { grpcTenant } from "../grpc/grpc-node.ts";
import { poll } from "../support/poll.ts";
import { closedPort } from "../support/ports.ts";
import * as fx from "./fixtures.ts";
import { startNode, type Workspace, workspace } from "./support.ts";

const OUTLIER = {
  consecutiveFailures: 3,
  baseEjectionMs: 1_000,
  maxEjectionMs: 3_000,
  maxEjectedPercent: 50,
  slowStartMs: 0,
};
const HEALTH = {
  ...DEFAULT_HEALTH_CHECK,
  path: "/healthz",
  intervalMs: 1_000,
  timeoutMs: 500,
  healthyThreshold: 1,
  unhealthyThreshold: 2,
};

const pair = fx.signingPair();
const httpKey = fx.newKey();
const checkedKey = fx.newKey();
const grpcKey = fx.newKey();
let rig: BrownoutRig;
let ws: Workspace;
let node: DataPlaneProcess;
let echo: EchoClient;

before(async () => {
  rig = await startBrownoutRig(3);
  ws = await workspace();
  const http = rig.targets.map((t) => t.httpUrl);
  const snap = fx.snapshot(1, [
    fx.tenant({
      id: "brown",
      upstream: http,
      keys: [{ id: httpKey.id, hash: httpKey.hash }],
      routes: [{ id: "api", pathPrefix: "/api", timeoutMs: 10_000 }],
      policy: { weights: [], healthCheck: undefined, outlier: OUTLIER },
    }),
    fx.tenant({
      id: "checked",
      upstream: http,
      keys: [{ id: checkedKey.id, hash: checkedKey.hash }],
      routes: [{ id: "api", pathPrefix: "/api", timeoutMs: 10_000 }],
      policy: { weights: [], healthCheck: HEALTH, outlier: OUTLIER },
    }),
    grpcTenant({
      id: "brown-grpc",
      upstream: rig.targets.map((t) => t.grpcAddress),
      keys: [{ id: grpcKey.id, hash: grpcKey.hash }],
      routes: [{ id: "echo", pathPrefix: "/corral.demo.v1.Echo" }],
      policy: { weights: [], healthCheck: undefined, outlier: OUTLIER },
    }),
  ]);
  // the figures are the balancer's and the ejection's: a loaded test machine must not shed them
  snap.settings = FleetSettings.fromPartial({ admission: { shedDisabled: true } });
  await fx.publish(ws.store, fx.sign(snap, pair));
  node = await startNode({ ws, pair, cpUrl: `http://127.0.0.1:${await closedPort()}` });
  await poll("the node to apply LATEST", () => node.state.ready);
  echo = new EchoClient(node.grpcAddress, credentials.createInsecure());
});

after(async () => {
  echo?.close();
  await node?.close();
  await ws?.remove();
  await rig?.stop();
});

interface Tally {
  ok: number;
  failed: number;
  reasons: Map<string, number>;
}

/** `total` GETs, `concurrency` at a time; how they were answered. */
async function load(key: string, total: number, concurrency = 6): Promise<Tally> {
  const tally: Tally = { ok: 0, failed: 0, reasons: new Map() };
  let next = 0;
  const worker = async () => {
    while (next++ < total) {
      const res = await fetch(`${node.httpUrl}/api/x`, { headers: { "x-api-key": key } });
      await res.arrayBuffer();
      if (res.status === 200) tally.ok++;
      else tally.failed++;
      const reason = res.headers.get("corral-reason") ?? String(res.status);
      tally.reasons.set(reason, (tally.reasons.get(reason) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return tally;
}

async function servedEach(): Promise<number[]> {
  return Promise.all(rig.targets.map((_, i) => rig.served(i)));
}

/** Every target back to normal and taking traffic again (their ejections ran out). */
async function healed(key = httpKey.key): Promise<void> {
  await rig.toxiproxy.reset();
  for (const i of rig.targets.keys()) await rig.setMode(i, "ok");
  await poll(
    "every target taking traffic again",
    async () => {
      await servedEach();
      await load(key, 30, 3);
      return (await servedEach()).every((n) => n > 0);
    },
    20_000,
  );
  await servedEach();
}

test("equal targets: the spread per target is within ±10 %", async (t) => {
  await healed();
  const tally = await load(httpKey.key, 1_500);
  const served = await servedEach();
  assert.equal(tally.ok, 1_500);
  t.diagnostic(`served per target: ${served}`);
  const mean = 500;
  for (const n of served) assert.ok(Math.abs(n - mean) <= mean * 0.1, `spread ${served}`);
});

test("one target answering 503: ejected after its threshold; the tenant's success rate stays high", async (t) => {
  await healed();
  await rig.setMode(0, "fail");
  const tally = await load(httpKey.key, 600);
  const served = await servedEach();
  const rate = tally.ok / 600;
  t.diagnostic(`success ${rate}, served per target ${served}`);
  // 3 in a row eject it for 1 s, then one probe per ejection (1 s, 2 s, 3 s, 3 s ...)
  assert.ok(served[0]! <= 3 + 8, `the sick target served ${served[0]} (${served})`);
  assert.ok(rate >= 0.98, `success ${rate} (${JSON.stringify([...tally.reasons])})`);
  const metrics = await (await fetch(`${node.opsUrl}/metrics`)).text();
  assert.match(metrics, /corral_dp_upstream_ejections_total\{cause="5xx"\} [1-9]/);
  assert.match(
    metrics,
    /corral_dp_upstream_picks_total\{upstream="u1",target="http:\/\/127\.0\.0\.1:\d+"\} [1-9]/,
  );
});

test("one target resetting connections: ejected the same way", async (t) => {
  await healed();
  await rig.toxiproxy.addToxic(rig.targets[1]!.httpProxy, { type: "reset_peer", timeoutMs: 0 });
  const tally = await load(httpKey.key, 600);
  const rate = tally.ok / 600;
  t.diagnostic(`success ${rate}, served per target ${await servedEach()}`);
  assert.ok(rate >= 0.98, `success ${rate} (${JSON.stringify([...tally.reasons])})`);
});

test("one target 2 s slow: least outstanding sends it little; nothing fails", async (t) => {
  await healed();
  await rig.toxiproxy.addToxic(rig.targets[2]!.httpProxy, { type: "latency", latencyMs: 2_000 });
  const tally = await load(httpKey.key, 300);
  const served = await servedEach();
  t.diagnostic(`served per target ${served}; answers ${JSON.stringify([...tally.reasons])}`);
  assert.equal(tally.ok, 300);
  assert.ok(served[2]! < 30, `the slow target served ${served[2]} of 300 (${served})`);
});

test("every target down: circuit_open within the threshold, never queued; back within one base ejection time", async (t) => {
  await healed();
  const heals = await Promise.all(rig.targets.map((t) => rig.toxiproxy.partition(t.httpProxy)));
  const reasons: string[] = [];
  for (let i = 0; i < 10; i++) {
    const res = await fetch(`${node.httpUrl}/api/x`, { headers: { "x-api-key": httpKey.key } });
    await res.arrayBuffer();
    reasons.push(res.headers.get("corral-reason") ?? String(res.status));
  }
  // each refused connection ejects its target: three 502s at most, then the circuit is open
  const firstOpen = reasons.indexOf("circuit_open");
  assert.ok(firstOpen >= 0 && firstOpen <= 3, `${reasons}`);
  assert.ok(
    reasons.slice(firstOpen).every((r) => r === "circuit_open" || r === "upstream_error"),
    `${reasons}`,
  );
  const started = performance.now();
  const open = await fetch(`${node.httpUrl}/api/x`, { headers: { "x-api-key": httpKey.key } });
  assert.equal(open.status, 503);
  assert.equal(((await open.json()) as { code: string }).code, "CORRAL_DP_CIRCUIT_OPEN");
  assert.ok(performance.now() - started < 1_000, "answered at once");

  for (const heal of heals) await heal();
  const back = performance.now();
  await poll(
    "a 200 again",
    async () => {
      const res = await fetch(`${node.httpUrl}/api/x`, { headers: { "x-api-key": httpKey.key } });
      await res.arrayBuffer();
      return res.status === 200;
    },
    15_000,
    50,
  );
  const recoverMs = performance.now() - back;
  t.diagnostic(`answers while down: ${reasons}; 200 again after ${Math.round(recoverMs)} ms`);
  // the open circuit probes once per base ejection time (1 s); the margin is for a loaded machine
  assert.ok(recoverMs <= OUTLIER.baseEjectionMs + 2_000, `recovered after ${recoverMs} ms`);
});

test("active health checks: a target failing its check gets no traffic, and gets it back when it passes", async () => {
  await healed(checkedKey.key);
  await rig.setMode(1, "sick");
  await poll(
    "target 1 out of rotation",
    async () => {
      await servedEach();
      await load(checkedKey.key, 30, 3);
      return (await servedEach())[1] === 0;
    },
    15_000,
  );
  const tally = await load(checkedKey.key, 150, 3);
  assert.equal(tally.ok, 150, "no request failed: the check, not a request, found it");
  assert.equal((await servedEach())[1], 0);
  await rig.setMode(1, "ok");
  await poll(
    "target 1 back",
    async () => {
      await load(checkedKey.key, 30, 3);
      return (await servedEach())[1]! > 0;
    },
    15_000,
  );
});

function call(): Promise<{ ok: boolean; reason: string | undefined }> {
  const md = new Metadata();
  md.set("x-api-key", grpcKey.key);
  return new Promise((resolve) => {
    echo.echo({ message: "hi" }, md, (err: ServiceError | null) => {
      const reason = err?.metadata?.get("corral-reason")[0];
      resolve({ ok: !err, reason: typeof reason === "string" ? reason : undefined });
    });
  });
}

test("gRPC: a target answering UNAVAILABLE is ejected; all down is UNAVAILABLE circuit_open", async (t) => {
  await healed();
  await rig.setMode(0, "fail");
  let ok = 0;
  const refused = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    const r = await call();
    if (r.ok) ok++;
    else refused.set(r.reason ?? "none", (refused.get(r.reason ?? "none") ?? 0) + 1);
  }
  const served = await servedEach();
  t.diagnostic(`success ${ok}/300, served per target ${served}, refused ${[...refused]}`);
  assert.ok(ok / 300 >= 0.96, `success ${ok}/300, refused ${[...refused]}`);
  assert.ok(served[0]! <= 3 + 8, `the sick target served ${served[0]}`);
  const heals = await Promise.all(rig.targets.map((t) => rig.toxiproxy.partition(t.grpcProxy)));
  const reasons: (string | undefined)[] = [];
  for (let i = 0; i < 8; i++) reasons.push((await call()).reason);
  t.diagnostic(`gRPC answers while down: ${reasons}`);
  assert.ok(
    reasons.slice(4).every((r) => r === "circuit_open"),
    `${reasons}`,
  );
  for (const heal of heals) await heal();
  await rig.setMode(0, "ok");
  await poll("a call answered again", async () => (await call()).ok, 15_000, 100);
});
