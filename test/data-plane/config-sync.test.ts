/**
 * The config path of a real node against a real sync server and a filesystem blob store:
 * Hello/Welcome/Announce/Ack/Nack/Status, refusal of bad blobs while the old config keeps
 * serving, reconnects, and restart from the disk cache with everything else gone.
 */
import assert from "node:assert/strict";
import { rename } from "node:fs/promises";
import { after, afterEach, test } from "node:test";
import type { Announce } from "../../proto/gen/corral/sync/v1/sync.ts";
import { deriveNodeCredential } from "../../proto/node-credential.ts";
import { HEADER_SIZE } from "../../proto/snapshot-codec.ts";
import type { DataPlaneProcess } from "../../data-plane/main.ts";
import * as fx from "./fixtures.ts";
import { recordingUpstream, startNode, testNodeCredential, type Workspace, workspace } from "./support.ts";
import { TestControlPlane } from "./test-control-plane.ts";
import { closedPort } from "../support/ports.ts";
import { poll } from "../support/poll.ts";

const pair = fx.signingPair();
const key = fx.newKey();
const upstream = await recordingUpstream();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});
after(() => upstream.close());

/** Version n has routes /v1 .. /vn, so what is served shows which version is live. */
function version(n: number): fx.Published {
  const routes = Array.from({ length: n }, (_, i) => ({ id: `r${i + 1}`, pathPrefix: `/v${i + 1}` }));
  return fx.sign(
    fx.snapshot(n, [
      fx.tenant({ id: "acme", upstream: upstream.url, keys: [{ id: key.id, hash: key.hash }], routes }),
    ]),
    pair,
  );
}

const announceOf = (p: fx.Published): Announce => ({ version: p.version, key: p.key, sha256: p.sha256 });

interface WorldOptions {
  pollMs?: number;
  token?: string;
  /** what the blob store and the control plane hold before the node starts */
  prepare?: (ws: Workspace, cp: TestControlPlane) => Promise<void>;
}

async function world(opts: WorldOptions = {}) {
  const ws = await workspace();
  const cp = await TestControlPlane.start(testNodeCredential("dp-0"));
  cleanups.push(
    () => ws.remove(),
    () => cp.close(),
  );
  await opts.prepare?.(ws, cp);
  const node = await startNode({
    ws,
    pair,
    cpUrl: cp.url,
    pollMs: opts.pollMs,
    token: opts.token,
    options: fastSync,
  });
  cleanups.push(() => node.close());
  return { ws, cp, node };
}

function latest(n: number) {
  return async (ws: Workspace, cp: TestControlPlane) => {
    cp.latest = announceOf(await fx.publish(ws.store, version(n)));
  };
}

const fastSync = {
  sync: { pingIntervalMs: 150, statusIntervalMs: 100, backoff: { baseMs: 20, capMs: 100 } },
};

async function status(node: DataPlaneProcess, path: string): Promise<number> {
  return (await fetch(node.httpUrl + path, { headers: { "x-api-key": key.key } })).status;
}

test("without any config the node is not ready and answers 503 not_ready", async () => {
  const { node, cp } = await world();
  await poll("Hello", () => cp.hellos.length > 0);
  assert.equal((await fetch(`${node.opsUrl}/readyz`)).status, 503);
  const res = await fetch(`${node.httpUrl}/v1`, { headers: { "x-api-key": key.key } });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("corral-reason"), "not_ready");
});

test("Hello carries who the node is; Welcome's latest is applied and Acked; Announce too", async () => {
  const { ws, cp, node } = await world({ prepare: latest(1) });
  await poll("Ack of version 1", () => cp.acks.some((a) => a.version === 1));
  const hello = cp.hellos[0]!;
  assert.deepEqual([hello.slot, hello.zone, hello.httpUrl], ["dp-0", "zone-b", node.httpUrl]);
  assert.match(hello.build, /^corral\/\S+ node\/24\./);
  assert.match(hello.node, /^dp-0@/);
  assert.equal(cp.authHeaders[0], `Bearer ${testNodeCredential("dp-0")}`);
  assert.equal(await status(node, "/v1"), 200);
  const v2 = await fx.publish(ws.store, version(2));
  cp.announce(announceOf(v2));
  await poll("Ack of version 2", () => cp.acks.some((a) => a.version === 2));
  assert.equal(await status(node, "/v2"), 200);
  await poll("Status with version 2", () => cp.statuses.some((s) => s.version === 2));
  assert.equal(cp.nacks.length, 0);
});

test("corrupt, foreign-signed, unsigned, truncated, oversized and older blobs are Nacked; the old config keeps serving", async () => {
  const { ws, cp, node } = await world();
  const v2 = await fx.publish(ws.store, version(2));
  cp.announce(announceOf(v2));
  await poll("Ack of version 2", () => cp.acks.some((a) => a.version === 2));
  const corrupt = version(3);
  corrupt.blob[HEADER_SIZE + 20] = (corrupt.blob[HEADER_SIZE + 20] ?? 0) ^ 0x55;
  const foreign = fx.sign(fx.snapshot(4, []), fx.signingPair());
  const unsigned = version(7);
  unsigned.blob.fill(0, 80, HEADER_SIZE); // the signature field, zeroed
  const truncated = version(5);
  truncated.blob = truncated.blob.subarray(0, truncated.blob.length - 1);
  const oversized = fx.sign(fx.snapshot(6, []), pair, fx.CAPACITY * 2);
  const older = version(1);
  const cases: [fx.Published, string][] = [
    [corrupt, "CORRAL_SNAPSHOT_DIGEST_MISMATCH"],
    [foreign, "CORRAL_SNAPSHOT_BAD_SIGNATURE"],
    [unsigned, "CORRAL_SNAPSHOT_BAD_SIGNATURE"],
    [truncated, "CORRAL_SNAPSHOT_SIZE_MISMATCH"],
    [oversized, "CORRAL_SNAPSHOT_OVERSIZED"],
    [older, "CORRAL_DP_CONFIG_VERSION_REGRESSION"],
  ];
  for (const [bad, code] of cases) {
    await ws.store.put(bad.key, bad.blob);
    cp.announce(announceOf(bad));
    const nack = await poll(`Nack of ${code}`, () => cp.nacks.find((n) => n.version === bad.version));
    assert.ok(nack.error.startsWith(`${code}:`), nack.error);
    assert.equal(await status(node, "/v2"), 200, "the old config keeps serving");
    assert.equal(node.state.version, 2);
  }
  const st = (await (await fetch(`${node.opsUrl}/status`)).json()) as { lastError: { code: string } };
  assert.equal(st.lastError.code, "CORRAL_DP_CONFIG_VERSION_REGRESSION");
  const metrics = await (await fetch(`${node.opsUrl}/metrics`)).text();
  assert.match(metrics, /corral_dp_apply_failures_total\{code="CORRAL_SNAPSHOT_BAD_SIGNATURE"\} 2/);
});

test("unchanged periodic pulls re-verify in the worker and swap nothing; Status keeps flowing", async () => {
  const { cp, node } = await world({ pollMs: 100, prepare: latest(1) });
  await poll("Ack of version 1", () => cp.acks.some((a) => a.version === 1));
  const served = node.state.config();
  const reverified = async () => {
    const text = await (await fetch(`${node.opsUrl}/metrics`)).text();
    return Number(/^corral_dp_apply_seconds_count\{result="same"\} (\d+)$/m.exec(text)?.[1] ?? 0);
  };
  // after one re-verified pull, the Welcome (which always gets an Ack) has been applied too
  const before = await poll("a first unchanged pull", reverified, 30_000);
  const statuses = cp.statuses.length;
  const acks = cp.acks.length;
  await poll("five unchanged pulls", async () => (await reverified()) >= before + 5, 30_000);
  await poll("Status frames meanwhile", () => cp.statuses.length > statuses + 2, 30_000);
  assert.equal(node.state.config(), served, "the served config object was not replaced");
  assert.equal(cp.acks.length, acks, "unchanged pulls are not Acked again");
  assert.equal(await status(node, "/v1"), 200);
});

test("a bad blob behind LATEST is found by the periodic pull and Nacked once", async () => {
  const { ws, cp, node } = await world({ pollMs: 100 });
  await fx.publish(ws.store, version(1));
  await poll("the pull to apply version 1", () => node.state.version === 1);
  const bad = fx.sign(fx.snapshot(2, []), fx.signingPair());
  await fx.publish(ws.store, bad);
  await poll("Nack of the pulled blob", () => cp.nacks.some((n) => n.version === 2));
  // the positive marker first: three more pulls refused the same blob, then count the Nacks
  const refusals = async () => {
    const text = await (await fetch(`${node.opsUrl}/metrics`)).text();
    return [...text.matchAll(/^corral_dp_apply_failures_total\{[^}]*\} (\d+)$/gm)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
  };
  const seen = await refusals();
  await poll("three more pulls refusing the blob", async () => (await refusals()) >= seen + 3);
  assert.equal(cp.nacks.filter((n) => n.version === 2).length, 1, "one Nack, not one per pull");
  assert.equal(await status(node, "/v1"), 200);
});

test("blob store gone: the fetch error shows in Status; back: the next pull applies", async () => {
  const { ws, cp, node } = await world({ pollMs: 100 });
  await fx.publish(ws.store, version(1));
  await poll("version 1", () => node.state.version === 1);
  await fx.publish(ws.store, version(2));
  await rename(ws.blobDir, `${ws.blobDir}.away`);
  cp.announce(announceOf(version(2)));
  await poll("Nack of the fetch", () => cp.nacks.some((n) => n.error.startsWith("CORRAL_DP_CONFIG_FETCH")));
  await poll("Status with the fetch error", () => cp.statuses.some((s) => s.fetchError !== ""));
  assert.equal(await status(node, "/v1"), 200);
  await rename(`${ws.blobDir}.away`, ws.blobDir);
  await poll("version 2 after the store returns", () => node.state.version === 2);
  await poll("fetch error cleared", () => node.state.fetchError === null);
});

test("a wrong node credential is refused by the control plane; the node keeps retrying", async () => {
  const { cp } = await world({ token: deriveNodeCredential("another-fleet-secret-0123456789ab", "dp-0") });
  await poll("three refused attempts", () => cp.refusedUpgrades >= 3);
  assert.equal(cp.hellos.length, 0);
});

test("malformed frames close the connection and the node reconnects", async () => {
  const { cp, node } = await world({ prepare: latest(1) });
  await poll("first connection", () => cp.acks.length > 0 && cp.connected === 1);
  for (const bad of [
    Buffer.from([0xff, 0xff, 0xff, 0x0f]),
    "text frame",
    Buffer.from([0x22, 0x02, 0x08, 0x01]),
  ]) {
    const hellos = cp.hellos.length;
    cp.sendRaw(bad);
    await poll("a new Hello after the bad frame", () => cp.hellos.length > hellos);
  }
  assert.equal(await status(node, "/v1"), 200);
  assert.equal(cp.hellos.at(-1)!.version, 1, "Hello reports the served version");
});

test("a control plane that goes silent is dropped after two ping intervals", async () => {
  const { cp, node } = await world();
  await poll("connected", () => cp.hellos.length === 1 && node.state.connected);
  cp.goSilent();
  await poll("reconnect after silence", () => cp.hellos.length >= 2, 3000);
});

test("restart with control plane and blob store gone: serves from the disk cache at once", async () => {
  const ws = await workspace();
  cleanups.push(() => ws.remove());
  const cp = await TestControlPlane.start(testNodeCredential("dp-0"));
  const first = await startNode({ ws, pair, cpUrl: cp.url, options: fastSync });
  const v3 = await fx.publish(ws.store, version(3));
  cp.announce(announceOf(v3));
  await poll("Ack of version 3", () => cp.acks.some((a) => a.version === 3));
  await first.close();
  await cp.close();
  const started = Date.now();
  const restarted = await startNode({
    ws,
    pair,
    cpUrl: `http://127.0.0.1:${await closedPort()}`,
    blobDir: `${ws.dir}/no-such-store`,
    options: fastSync,
  });
  cleanups.push(() => restarted.close());
  // ready from the cache alone, with nothing to pull from (the measured restart time is the
  // static-stability chaos test's; this bound is wide for a loaded machine)
  await poll("ready from the disk cache", () => restarted.state.ready, 10_000);
  assert.ok(Date.now() - started < 10_000);
  assert.equal(await status(restarted, "/v3"), 200);
  const st = (await (await fetch(`${restarted.opsUrl}/status`)).json()) as Record<string, unknown>;
  assert.equal(st.version, 3);
  assert.equal(st.connected, false);
});

test("close drains: an in-flight request finishes, then the node stops", async () => {
  const { ws, node } = await world({ pollMs: 100 });
  await fx.publish(ws.store, version(1));
  await poll("ready", () => node.state.ready);
  const inflight = fetch(`${node.httpUrl}/v1/slow/400`, { headers: { "x-api-key": key.key } });
  await poll("request in flight", () => node.state.inflight === 1);
  const closed = node.close();
  assert.equal(node.state.ready, false, "not ready while draining");
  const res = await inflight;
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "echo GET /v1/slow/400 ");
  await closed;
  await assert.rejects(fetch(`${node.httpUrl}/v1`, { headers: { "x-api-key": key.key } }));
});

test("a port already in use fails the start cleanly, naming the cause", async () => {
  const ws = await workspace();
  cleanups.push(() => ws.remove());
  const first = await startNode({ ws, pair, cpUrl: `http://127.0.0.1:${await closedPort()}` });
  cleanups.push(() => first.close());
  const port = new URL(first.opsUrl).port;
  await assert.rejects(
    startNode({ ws, pair, cpUrl: `http://127.0.0.1:${await closedPort()}`, env: { CORRAL_OPS_PORT: port } }),
    /EADDRINUSE/,
  );
});
