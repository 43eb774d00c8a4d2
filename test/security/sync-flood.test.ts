/**
 * Attack test, sync flooding (docs/design.md §8.8): a node with a valid credential sends 10,000
 * Status frames a second. The control plane closes it (CORRAL_SYNC_FRAME_RATE) and stays
 * responsive — the admin API answers, another node's Ack is recorded — with a bounded number
 * of database writes; below the frame limit, its writes are coalesced to the latest state.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Harness, startHarness } from "../control-plane/harness.ts";
import { connectSync, type SyncClient } from "../control-plane/sync-client.ts";
import { poll } from "../support/poll.ts";

const RATE = 10_000; // frames per second
const BATCH = 100; // frames per 10 ms tick
let h: Harness;
const clients: SyncClient[] = [];

before(async () => {
  h = await startHarness({ pingIntervalMs: 200 });
});
after(async () => {
  for (const c of clients) c.ws.terminate();
  await h.close();
});

async function node(slot: string): Promise<SyncClient> {
  const c = await connectSync(h.cp.url, h.nodeCredential(slot));
  clients.push(c);
  c.hello({ slot, node: slot, httpUrl: `http://10.0.0.1:7500/${slot}` });
  await c.next("welcome");
  return c;
}

/** Sends Status frames at RATE until the connection closes or `frames` are sent; resolves the count. */
function flood(c: SyncClient, frames: number): Promise<number> {
  return new Promise((resolve) => {
    let sent = 0;
    const timer = setInterval(
      () => {
        if (c.ws.readyState !== c.ws.OPEN || sent >= frames) {
          clearInterval(timer);
          resolve(sent);
          return;
        }
        for (let i = 0; i < BATCH && sent < frames; i++)
          c.send({ status: { version: ++sent, configAgeMs: 1, inflight: 1, shed: 0, fetchError: "" } });
      },
      (1000 * BATCH) / RATE,
    );
  });
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${h.cp.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(" ").pop()) : 0;
}

const statusWrites = () => metric("corral_sync_node_writes_total", 'kind="status"');

async function fleetRow(slot: string) {
  const res = await h.api("GET", "/admin/v1/fleet");
  return res.body.items.find((n: { slot: string }) => n.slot === slot);
}

test("10,000 Status frames a second: the node is closed, the CP keeps answering and recording", async (t) => {
  const good = await node("dp-good");
  const flooder = await node("dp-flood");
  const writesBefore = await statusWrites();
  const flooding = flood(flooder, 5 * RATE);

  const started = Date.now();
  const fleet = await h.api("GET", "/admin/v1/fleet");
  assert.equal(fleet.status, 200);
  assert.ok(Date.now() - started < 5_000, "the admin API answers during the flood");

  assert.deepEqual(await flooder.closed, { code: 1008, reason: "CORRAL_SYNC_FRAME_RATE" });
  const sent = await flooding;
  assert.ok(sent < 5 * RATE, `the flood was cut short (${sent} frames sent)`);

  const seen = good.frames.length;
  await h.api("POST", "/admin/v1/tenants", { id: "after-flood", name: "x" });
  const announce = await good.next("announce", 10_000, seen);
  good.send({ ack: { version: announce.version, applyMs: 3 } });
  await poll(
    "dp-good applied the announced version",
    async () => (await fleetRow("dp-good"))?.appliedVersion === announce.version,
    10_000,
  );

  await poll("dp-flood disconnected", async () => (await fleetRow("dp-flood"))?.connected === false, 10_000);
  const writes = (await statusWrites()) - writesBefore;
  t.diagnostic(`flood: ${sent} frames sent before the close, ${writes} status writes`);
  assert.ok(
    writes >= 1 && writes <= 60,
    `status writes of the flooder: ${writes} (at most the 50 allowed frames)`,
  );
  assert.ok((await metric("corral_sync_rejected_total", 'code="CORRAL_SYNC_FRAME_RATE"')) >= 1);
  assert.ok(
    h.logs.some((l) => l.includes("CORRAL_SYNC_FRAME_RATE")),
    "the close is logged",
  );
});

test("below the frame limit, a burst of Status frames is coalesced: few writes, the latest kept", async (t) => {
  await h.restart({}, { CORRAL_SYNC_MAX_FRAMES_PER_SEC: "100000" });
  const c = await node("dp-burst");
  const writesBefore = await statusWrites();
  const sent = await flood(c, RATE);
  assert.equal(sent, RATE);
  await poll(
    "dp-burst's last Status counted",
    async () => (await fleetRow("dp-burst"))?.status?.version === RATE,
    15_000,
  );
  const writes = (await statusWrites()) - writesBefore;
  t.diagnostic(`burst: ${RATE} frames, ${writes} status writes`);
  assert.ok(writes < RATE / 2, `${writes} status writes for ${RATE} frames`);
  assert.ok((await metric("corral_sync_coalesced_total", 'kind="status"')) >= RATE / 2);
  assert.equal(c.ws.readyState, c.ws.OPEN);
});
