/**
 * Placement and admission on the request path of real nodes (runDataPlane, in this process) with
 * hand-made signed snapshots: serving a member's tenant, forwarding to a member, refusing a
 * forwarded request at a non-member (no loop), 421 with the shard in strict mode, 503 when no
 * member answers, the placement endpoint and its key rule, 429 with RateLimit headers from the
 * tenant and route buckets, bucket state kept across applies, fleet kill switch, and shedding
 * by priority (a request header lowers the plan's class, never raises it).
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import {
  AdmissionSettings,
  Limits,
  Slot,
  Snapshot,
  type Tenant,
} from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { signHop } from "../../data-plane/pipeline/client-origin.ts";
import { deriveHopKey } from "../../proto/node-credential.ts";
import type { DataPlaneProcess } from "../../data-plane/main.ts";
import * as fx from "../data-plane/fixtures.ts";
import { recordingUpstream, startNode, type Workspace, workspace } from "../data-plane/support.ts";
import { closedPort } from "../support/ports.ts";
import { poll } from "../support/poll.ts";

const pair = fx.signingPair();
const keys = Object.fromEntries(
  ["here", "there", "ghost", "gone", "quota", "anywhere", "vip", "flaky"].map((t) => [t, fx.newKey()]),
);
let ws: Workspace;
let upstream: Awaited<ReturnType<typeof recordingUpstream>>;
const nodes: DataPlaneProcess[] = [];
const urls: string[] = [];
let version = 0;
/** A "member" that takes each request and drops the connection without answering. */
let dropper: { url: string; seen: string[]; close(): Promise<void> };

function tenant(id: string, shard: string[], limits?: Partial<Limits>, routes?: Tenant["routes"]): Tenant {
  const k = keys[id]!;
  const base = fx.tenant({ id, upstream: upstream.url, keys: [{ id: k.id, hash: k.hash }] });
  return { ...base, shard, limits: limits && Limits.fromPartial(limits), routes: routes ?? base.routes };
}

/** the fleet's hop key, as the CP puts it into every snapshot */
const HOP_KEY = deriveHopKey("the test fleet's node secret, thirty-two characters or more");

async function publish(settings?: Partial<NonNullable<Snapshot["settings"]>>): Promise<void> {
  version++;
  const ghost = `http://127.0.0.1:${await closedPort()}`;
  const slot = (name: string, zone: string, httpUrl: string, live = true) =>
    Slot.fromPartial({ name, zone, httpUrl, live });
  const here = tenant("here", ["dp-0"]);
  const limitedRoute = {
    ...here.routes[0]!,
    id: "limited",
    pathPrefix: "/limited",
    limits: Limits.fromPartial({ rate: 1, burst: 1 }),
  };
  // the event-loop-delay shedder out of reach: these nodes share the test's process on a loaded
  // machine, whose delays are not what is tested here (shedding by in-flight count still is)
  const admission = { ...(settings?.admission ?? AdmissionSettings.create()) };
  admission.maxEventLoopDelayMs ||= 60_000;
  const snap = Snapshot.fromPartial({
    version,
    epoch: 1,
    createdAtMs: Date.now(),
    settings: { ...settings, admission, hopKey: HOP_KEY },
    slots: [
      slot("dp-0", "zone-a", urls[0]!),
      slot("dp-1", "zone-b", urls[1]!),
      slot("dp-2", "zone-c", ghost),
      slot("dp-3", "zone-a", "", false),
      slot("dp-4", "zone-b", dropper.url),
    ],
    tenants: [
      { ...here, routes: [...here.routes, limitedRoute] },
      tenant("there", ["dp-1"]),
      tenant("ghost", ["dp-2"]),
      tenant("gone", ["dp-3"]),
      tenant("quota", ["dp-0"], { rate: 0.1, burst: 1 }), // one request per 10 s
      tenant("anywhere", []),
      tenant("vip", ["dp-0"], { priority: "critical" }),
      tenant("flaky", ["dp-1", "dp-4"]),
    ],
  });
  await fx.publish(ws.store, fx.sign(snap, pair));
  await poll(`version ${version} on every node`, () => nodes.every((n) => n.state.version === version));
}

async function startDropper() {
  const seen: string[] = [];
  const server = createServer((req) => {
    seen.push(req.url ?? "");
    req.socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { url: `http://127.0.0.1:${port}`, seen, close };
}

before(async () => {
  ws = await workspace();
  upstream = await recordingUpstream();
  dropper = await startDropper();
  const cpUrl = `http://127.0.0.1:${await closedPort()}`;
  const ports = [await closedPort(), await closedPort()];
  urls.push(...ports.map((p) => `http://127.0.0.1:${p}`));
  for (const [i, port] of ports.entries()) {
    const dataDir = `${ws.dataDir}-${i}`;
    const env = { CORRAL_SLOT: `dp-${i}`, CORRAL_HTTP_PORT: String(port), CORRAL_DATA_DIR: dataDir };
    nodes.push(await startNode({ ws, pair, cpUrl, pollMs: 200, env }));
  }
  await publish();
});

after(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  await upstream.close();
  await dropper.close();
  await ws.remove();
});

function call(node: number, path: string, tenantId: string, headers: Record<string, string> = {}) {
  return fetch(urls[node] + path, { headers: { "x-api-key": keys[tenantId]!.key, ...headers } });
}

async function metric(node: number, line: string): Promise<number> {
  const text = await (await fetch(`${nodes[node]!.opsUrl}/metrics`)).text();
  const found = text.split("\n").find((l) => l.startsWith(line));
  return found ? Number(found.slice(line.length).trim()) : 0;
}

test("a member serves its tenant; a tenant without a shard is served anywhere", async () => {
  assert.equal((await call(0, "/x", "here")).status, 200);
  assert.equal((await call(1, "/x", "anywhere")).status, 200);
});

test("a non-member forwards to a live member, which serves it; the upstream sees no forwarding marks", async () => {
  const before = await metric(0, 'corral_dp_forwards_total{result="ok"}');
  const res = await call(0, "/fwd?q=1", "there", { "x-custom": "kept" });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "echo GET /fwd?q=1 ");
  const seen = upstream.seen.at(-1)!;
  assert.equal(seen.headers["corral-forwarded-by"], undefined);
  assert.equal(seen.headers["x-api-key"], undefined);
  assert.equal(seen.headers["x-custom"], "kept");
  assert.equal(seen.headers["corral-tenant"], "there");
  assert.equal(seen.headers["x-forwarded-for"], "127.0.0.1", "the client, as the forwarding node saw it");
  assert.equal(seen.headers["corral-hop"], undefined);
  assert.equal(await metric(0, 'corral_dp_forwards_total{result="ok"}'), before + 1);
});

/** The headers of a hop from `slot`, signed with the fleet's hop key as a node signs it. */
function hop(slot: string): Record<string, string> {
  const signed = signHop(HOP_KEY, slot, "127.0.0.1", Date.now());
  return { "corral-forwarded-by": slot, "corral-hop": signed };
}

test("a request another node forwarded is never forwarded again: 421 at a non-member", async () => {
  const count = upstream.seen.length;
  const res = await call(0, "/x", "there", hop("dp-7"));
  assert.equal(res.status, 421);
  assert.equal(res.headers.get("corral-reason"), "misdirected");
  assert.equal(res.headers.get("corral-shard"), urls[1]);
  const body = (await res.json()) as { code: string; shard: { slot: string; url: string; live: boolean }[] };
  assert.equal(body.code, "CORRAL_DP_MISDIRECTED");
  assert.deepEqual(body.shard, [{ slot: "dp-1", zone: "zone-b", url: urls[1], grpcAddress: "", live: true }]);
  assert.equal(upstream.seen.length, count);
  assert.equal((await call(1, "/x", "there", hop("dp-0"))).status, 200, "a member serves it");
  const unsigned = await call(0, "/x", "there", { "corral-forwarded-by": "dp-7" });
  assert.equal(
    unsigned.status,
    200,
    "a hop without a valid signature is a client's header: forwarded as usual",
  );
});

test("no member answers: 503 shard_unavailable, whether the snapshot says so or the connection fails", async () => {
  for (const id of ["ghost", "gone"]) {
    const res = await call(0, "/x", id);
    assert.equal(res.status, 503, id);
    assert.equal(res.headers.get("corral-reason"), "shard_unavailable");
  }
  assert.ok((await metric(0, 'corral_dp_forwards_total{result="connect_error"}')) >= 1);
});

test("a member that drops a request it got is never passed the request's retry: each request reaches one member", async () => {
  const answers: number[] = [];
  for (let i = 0; i < 6; i++) answers.push((await call(0, `/flaky-${i}`, "flaky")).status);
  assert.ok(answers.includes(200) && answers.includes(502), `round-robin over both members: ${answers}`);
  for (let i = 0; i < 6; i++) {
    const atDropper = dropper.seen.includes(`/flaky-${i}`);
    const atUpstream = upstream.seen.some((r) => r.url === `/flaky-${i}`);
    assert.ok(atDropper !== atUpstream, `/flaky-${i} reached exactly one member`);
    assert.equal(answers[i], atDropper ? 502 : 200);
  }
});

test("the placement endpoint answers the shard for a key of that tenant only", async () => {
  const res = await call(1, "/.well-known/corral/placement/there", "there");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {
    tenant: "there",
    version,
    shard: [{ slot: "dp-1", zone: "zone-b", url: urls[1], grpcAddress: "", live: true }],
  });
  assert.equal((await fetch(`${urls[0]}/.well-known/corral/placement/there`)).status, 401);
  const other = await call(0, "/.well-known/corral/placement/there", "here");
  assert.equal(other.status, 404);
  assert.equal(other.headers.get("corral-reason"), "unknown_tenant");
});

test("over the tenant's rate: 429 with Retry-After, RateLimit and RateLimit-Policy; admissions carry RateLimit", async () => {
  const first = await call(0, "/x", "quota");
  assert.equal(first.status, 200);
  assert.match(first.headers.get("ratelimit") ?? "", /^"default";r=\d+;t=\d+$/);
  const second = await call(0, "/x", "quota");
  assert.equal(second.status, 429);
  assert.equal(second.headers.get("corral-reason"), "quota");
  assert.ok(Number(second.headers.get("retry-after")) >= 1);
  assert.match(second.headers.get("ratelimit-policy") ?? "", /^"default";q=\d+;w=\d+$/);
  assert.equal(((await second.json()) as { code: string }).code, "CORRAL_DP_QUOTA");
});

test("a route's own bucket limits it after the tenant's", async () => {
  assert.equal((await call(0, "/limited", "here")).status, 200);
  const res = await call(0, "/limited", "here");
  assert.equal(res.status, 429);
  assert.equal((await call(0, "/other", "here")).status, 200, "the tenant's other routes are not limited");
});

test("a new config keeps unchanged tenants' buckets; the fleet kill switch and strict mode apply at once", async () => {
  await call(0, "/x", "quota");
  await publish();
  assert.equal((await call(0, "/x", "quota")).status, 429, "tokens did not come back with the new version");
  await publish({
    strictPlacement: true,
    egressAllow: [],
    admission: AdmissionSettings.fromPartial({ rateDisabled: true }),
  });
  for (let i = 0; i < 3; i++) assert.equal((await call(0, "/x", "quota")).status, 200, "rate limiters off");
  const res = await call(0, "/x", "there");
  assert.equal(res.status, 421);
  assert.equal(res.headers.get("corral-shard"), urls[1]);
  await publish();
});

test("shedding by priority: a header lowers the plan's class, never raises it", async () => {
  await publish({
    strictPlacement: false,
    egressAllow: [],
    admission: AdmissionSettings.fromPartial({ maxInflight: 2 }),
  });
  const slow = [call(0, "/slow/600", "here"), call(0, "/slow/600", "here")];
  await poll("two requests in flight: pressure 1.0", () => nodes[0]!.state.inflight >= 2);
  const standard = await call(0, "/x", "here");
  assert.equal(standard.status, 503);
  assert.equal(standard.headers.get("corral-reason"), "shed");
  const retry = Number(standard.headers.get("retry-after"));
  assert.ok(retry >= 1 && retry <= 5, `retry-after ${retry}`);
  assert.equal((await call(0, "/x", "vip")).status, 200, "critical is shed last");
  assert.equal((await call(0, "/x", "vip", { "corral-priority": "batch" })).status, 503, "lowered to batch");
  assert.equal((await call(0, "/x", "here", { "corral-priority": "critical" })).status, 503, "never raised");
  await Promise.all(slow.map(async (p) => (await p).text()));
  assert.ok((await metric(0, 'corral_dp_shed_total{priority="standard"}')) >= 2);
  assert.ok(nodes[0]!.state.shed >= 3);
});
