/**
 * Attack tests, node identity (docs/design.md §8.4): a real control plane, raw ws clients. Whoever
 * holds one slot's credential must not speak for another slot, move another slot's URL,
 * register slots beyond the limit, or get in with a forged or fleet-wide token; the CP
 * serves wss with a certificate, and a real data-plane node syncs over it trusting a CA file.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Agent, request } from "undici";
import { deriveNodeCredential } from "../../proto/node-credential.ts";
import { type Harness, startHarness } from "../control-plane/harness.ts";
import { connectSync, type SyncClient } from "../control-plane/sync-client.ts";
import * as fx from "../data-plane/fixtures.ts";
import { startNode, workspace } from "../data-plane/support.ts";
import { poll } from "../support/poll.ts";

const MAX_SLOTS = 6;
let h: Harness;
const clients: SyncClient[] = [];

before(async () => {
  h = await startHarness({ pingIntervalMs: 200 }, { CORRAL_MAX_SLOTS: String(MAX_SLOTS) });
});
after(async () => {
  for (const c of clients) c.ws.terminate();
  await h.close();
});

const urlOf = (slot: string) => `http://10.0.0.1:7500/${slot}`;

async function connectNode(slot: string, credential = h.nodeCredential(slot)): Promise<SyncClient> {
  const c = await connectSync(h.cp.url, credential);
  clients.push(c);
  c.hello({ slot, node: `${slot}-node`, httpUrl: urlOf(slot) });
  await c.next("welcome");
  return c;
}

async function fleetRow(slot: string): Promise<{ httpUrl: string; connected: boolean } | undefined> {
  const res = await h.api("GET", "/admin/v1/fleet");
  return res.body.items.find((n: { slot: string }) => n.slot === slot);
}

async function rejectedCount(code: string): Promise<number> {
  const text = await (await fetch(`${h.cp.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`corral_sync_rejected_total{code="${code}"}`));
  return line ? Number(line.split(" ").pop()) : 0;
}

test("a credential for slot A claiming slot B is refused (1008) and B's URL stays B's", async () => {
  await connectNode("dp-b");
  await poll(
    "dp-b registered with its own URL",
    async () => (await fleetRow("dp-b"))?.httpUrl === urlOf("dp-b"),
  );
  const attacker = await connectSync(h.cp.url, h.nodeCredential("dp-a"));
  clients.push(attacker);
  attacker.hello({ slot: "dp-b", node: "evil", httpUrl: "http://attacker.example:80" });
  assert.deepEqual(await attacker.closed, { code: 1008, reason: "CORRAL_SYNC_SLOT_MISMATCH" });
  assert.equal(attacker.frames.length, 0, "no Welcome for a refused Hello");
  assert.equal((await fleetRow("dp-b"))?.httpUrl, urlOf("dp-b"));
  assert.equal(await fleetRow("dp-a"), undefined, "the refused Hello registered nothing");
  assert.ok((await rejectedCount("CORRAL_SYNC_SLOT_MISMATCH")) >= 1);
  assert.ok(
    h.logs.some((l) => l.includes("CORRAL_SYNC_SLOT_MISMATCH")),
    "the refusal is logged",
  );
});

test("forged, foreign, fleet-wide and old shared tokens get 401 at the upgrade", async () => {
  const macOfA = h.nodeCredential("dp-a").split(".")[1];
  const forged = [
    `crn_dp-b.${macOfA}`, // slot A's MAC under slot B's name
    `crn_dp-b.${"0".repeat(64)}`,
    deriveNodeCredential("another-fleet-secret-0123456789abcdef", "dp-b"),
    h.nodeSecret, // the fleet secret itself is no bearer token
    `node_${"x".repeat(32)}`, // the shape of the old shared CORRAL_NODE_TOKEN
    h.adminToken,
    `${h.nodeCredential("dp-b")}x`,
  ];
  for (const token of forged)
    await assert.rejects(connectSync(h.cp.url, token), { status: 401 }, token.slice(0, 24));
  assert.equal((await fleetRow("dp-b"))?.httpUrl, urlOf("dp-b"));
});

test("a leaked credential of slot A exposes slot A only", async () => {
  const leaked = h.nodeCredential("dp-a");
  await h.api("PUT", "/admin/v1/slots/dp-declared", { zone: "zone-a", httpUrl: urlOf("dp-declared") });
  for (const victim of ["dp-b", "dp-declared", "dp-never-seen"]) {
    const c = await connectSync(h.cp.url, leaked);
    clients.push(c);
    c.hello({ slot: victim, node: "evil", httpUrl: "http://attacker.example:80" });
    assert.equal((await c.closed).reason, "CORRAL_SYNC_SLOT_MISMATCH", victim);
  }
  assert.equal((await fleetRow("dp-b"))?.httpUrl, urlOf("dp-b"));
  assert.equal(await fleetRow("dp-declared"), undefined);
  assert.equal(await fleetRow("dp-never-seen"), undefined);
  const admin = await fetch(`${h.cp.url}/admin/v1/fleet`, { headers: { authorization: `Bearer ${leaked}` } });
  assert.equal(admin.status, 401, "a node credential is no operator token");
  await connectNode("dp-a", leaked);
  await poll(
    "dp-a registered with its own URL",
    async () => (await fleetRow("dp-a"))?.httpUrl === urlOf("dp-a"),
  );
});

test("slots beyond CORRAL_MAX_SLOTS are refused; declared and known slots still connect", async () => {
  // known so far: dp-b, dp-a (registered), dp-declared (declared) = 3 of 6
  for (const slot of ["dp-c", "dp-d", "dp-e"]) await connectNode(slot);
  await poll("dp-e connected", async () => (await fleetRow("dp-e"))?.connected === true);
  await assert.rejects(connectSync(h.cp.url, h.nodeCredential("dp-f")), { status: 403 });
  await assert.rejects(connectSync(h.cp.url, h.nodeCredential("dp-g")), { status: 403 });
  assert.equal(await fleetRow("dp-f"), undefined);
  assert.ok((await rejectedCount("CORRAL_SYNC_SLOT_LIMIT")) >= 2);
  await connectNode("dp-declared");
  await poll("dp-declared connected", async () => (await fleetRow("dp-declared"))?.connected === true);
  const again = await connectNode("dp-c");
  assert.equal(again.ws.readyState, again.ws.OPEN);
  const res = await h.api("GET", "/admin/v1/fleet");
  assert.equal(res.body.items.length, MAX_SLOTS);
});

describe("TLS to the control plane", () => {
  let tls: Harness;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "corral-tls-"));
    const [cert, key] = [join(dir, "cp.crt"), join(dir, "cp.key")];
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
        ...["-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=corral-cp"],
        ...["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
      ],
      { stdio: "ignore" },
    );
    tls = await startHarness({}, { CORRAL_TLS_CERT_FILE: cert, CORRAL_TLS_KEY_FILE: key });
  });
  after(async () => {
    await tls?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("the CP serves https/wss; a node trusting the CA file syncs, a client without it is refused", async () => {
    assert.match(tls.cp.url, /^https:\/\//);
    await assert.rejects(connectSync(tls.cp.url, tls.nodeCredential("dp-0")), /self[- ]signed|certificate/i);
    const ws = await workspace();
    const node = await startNode({
      ws,
      pair: fx.signingPair(),
      cpUrl: tls.cp.url,
      token: tls.nodeCredential("dp-0"),
      env: { CORRAL_CP_CA_FILE: join(dir, "cp.crt") },
      options: { sync: { pingIntervalMs: 200, statusIntervalMs: 100, backoff: { baseMs: 20, capMs: 200 } } },
    });
    try {
      const trusting = new Agent({ connect: { ca: await readFile(join(dir, "cp.crt")) } });
      const row = await poll(
        "the node in the fleet view over TLS",
        async () => {
          const res = await request(`${tls.cp.url}/admin/v1/fleet`, {
            headers: { authorization: `Bearer ${tls.adminToken}` },
            dispatcher: trusting,
          });
          const body = (await res.body.json()) as {
            items: Array<{ slot: string; zone: string; connected: boolean }>;
          };
          return body.items.find((n) => n.slot === "dp-0" && n.connected);
        },
        15_000,
      );
      assert.equal(row.zone, "zone-b");
      await trusting.close();
    } finally {
      await node.close();
      await ws.remove();
    }
  });
});
