import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type DeclaredSlotRow,
  fleetSlots,
  type NodeSighting,
  slotTableFingerprint,
  slotViews,
} from "./fleet-slots.ts";

const NOW = Date.parse("2025-06-01T12:00:00Z");
const policy = { nowMs: NOW, liveWindowMs: 60_000, forgetDelayMs: 600_000 };

function node(slot: string, agoMs: number, connected = true, zone = "zone-a"): NodeSighting {
  return {
    slot,
    zone,
    http_url: `http://${slot}:7500`,
    grpc_address: `${slot}:7600`,
    last_seen: new Date(NOW - agoMs),
    connected_cp: connected ? "cp-1" : null,
  };
}

function declared(name: string, zone: string, http_url = ""): DeclaredSlotRow {
  return { name, zone, http_url, grpc_address: "", created_at: new Date(0), updated_at: new Date(0) };
}

test("live: connected and seen within the window; a connection nobody refreshes dies after it", () => {
  const slots = fleetSlots(
    [],
    [node("fresh", 1_000), node("edge", 60_000), node("stale-cp", 60_001), node("closed", 1_000, false)],
    policy,
  );
  assert.deepEqual(
    slots.map((s) => [s.name, s.live]),
    [
      ["closed", false],
      ["edge", true],
      ["fresh", true],
      ["stale-cp", false],
    ],
  );
});

test("an undeclared slot stays for the forget delay after its node was last seen, then drops", () => {
  const names = (agoMs: number) => fleetSlots([], [node("dp-0", agoMs, false)], policy).map((s) => s.name);
  assert.deepEqual(names(599_999), ["dp-0"]);
  assert.deepEqual(names(600_000), []);
  assert.deepEqual(names(-5_000), ["dp-0"], "a last-seen time in the future counts as just seen");
});

test("a declared slot is in the fleet without a node and however long ago its node was seen", () => {
  const slots = fleetSlots(
    [declared("dp-9", "zone-c"), declared("dp-0", "zone-b")],
    [node("dp-0", 86_400_000, false)],
    policy,
  );
  assert.deepEqual(
    slots.map((s) => [s.name, s.zone, s.live, s.lastSeenMs]),
    [
      ["dp-0", "zone-b", false, NOW - 86_400_000],
      ["dp-9", "zone-c", false, 0],
    ],
  );
});

test("the declaration's zone and addresses win where set; the node fills the rest", () => {
  const [slot] = fleetSlots(
    [declared("dp-0", "zone-b", "http://lb:80")],
    [node("dp-0", 0, true, "zone-x")],
    policy,
  );
  assert.deepEqual(
    [slot!.zone, slot!.httpUrl, slot!.grpcAddress, slot!.live],
    ["zone-b", "http://lb:80", "dp-0:7600", true],
  );
  const [view] = slotViews([declared("dp-0", "zone-b")], [node("dp-0", 0, true, "zone-x")], policy);
  assert.deepEqual(
    [view!.declared, view!.registered, view!.reportedZone, view!.inFleet],
    [true, true, "zone-x", true],
  );
});

test("views: forgetAt for vanished undeclared slots, inFleet false once forgotten", () => {
  const views = slotViews(
    [],
    [node("gone", 700_000, false), node("going", 10_000, false), node("up", 0)],
    policy,
  );
  const by = new Map(views.map((v) => [v.name, v]));
  assert.equal(by.get("gone")!.inFleet, false);
  assert.equal(by.get("going")!.forgetAt, new Date(NOW - 10_000 + 600_000).toISOString());
  assert.equal(by.get("up")!.forgetAt, null);
});

test("the fingerprint ignores last-seen times but not membership, zone, addresses or liveness", () => {
  const base = fleetSlots([], [node("a", 1_000), node("b", 2_000)], policy);
  const later = fleetSlots([], [node("a", 3_000), node("b", 4_000)], policy);
  assert.equal(slotTableFingerprint(base), slotTableFingerprint(later));
  const changes = [
    fleetSlots([], [node("a", 1_000)], policy),
    fleetSlots([], [node("a", 1_000), node("b", 2_000, false)], policy),
    fleetSlots([], [node("a", 1_000), node("b", 2_000, true, "zone-b")], policy),
    fleetSlots([declared("b", "zone-a", "http://other")], [node("a", 1_000), node("b", 2_000)], policy),
  ];
  for (const changed of changes) assert.notEqual(slotTableFingerprint(changed), slotTableFingerprint(base));
});
