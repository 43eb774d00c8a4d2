import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  decidePlacement,
  memberAddress,
  type PlacementInput,
  type PlacementProtocol,
  rotate,
  type ShardMember,
} from "./forwarding.ts";
import { shardHeader, shardMembers, slotTable } from "./shard-view.ts";

const member = (
  slot: string,
  live = true,
  url = `http://10.0.0.${slot.slice(3)}:7500`,
  grpcAddress = `10.0.0.${slot.slice(3)}:7600`,
): ShardMember => ({ slot, zone: "zone-a", url, grpcAddress, live });

const input = (over: Partial<PlacementInput>): PlacementInput => ({
  self: "dp-0",
  shard: [member("dp-1"), member("dp-2")],
  strict: false,
  forwardedBy: undefined,
  start: 0,
  protocol: "http",
  ...over,
});

test("a member serves its tenant, forwarded or not, strict or not", () => {
  const shard = [member("dp-0"), member("dp-1")];
  assert.deepEqual(decidePlacement(input({ shard })), { kind: "local" });
  assert.deepEqual(decidePlacement(input({ shard, forwardedBy: "dp-3", strict: true })), { kind: "local" });
});

test("a tenant without a shard (no placement in the snapshot) is served where it arrives", () => {
  assert.deepEqual(decidePlacement(input({ shard: [] })), { kind: "local" });
});

test("a non-member forwards to the live members, rotating where it starts", () => {
  const first = decidePlacement(input({ start: 0 }));
  const second = decidePlacement(input({ start: 1 }));
  assert.deepEqual(first.kind === "forward" && first.peers.map((p) => p.slot), ["dp-1", "dp-2"]);
  assert.deepEqual(second.kind === "forward" && second.peers.map((p) => p.slot), ["dp-2", "dp-1"]);
});

test("dead members and members without an address are never forwarded to", () => {
  const shard = [member("dp-1", false), member("dp-2"), member("dp-3", true, "")];
  for (let start = 0; start < 4; start++) {
    const d = decidePlacement(input({ shard, start }));
    assert.deepEqual(d.kind === "forward" && d.peers.map((p) => p.slot), ["dp-2"]);
  }
});

test("a gRPC call goes only to members with a gRPC address, an HTTP request only to those with a URL", () => {
  const shard = [member("dp-1", true, "http://h1:7500", ""), member("dp-2", true, "", "h2:7600")];
  const grpc = decidePlacement(input({ shard, protocol: "grpc" }));
  const http = decidePlacement(input({ shard, protocol: "http" }));
  assert.deepEqual(grpc.kind === "forward" && grpc.peers.map((p) => p.slot), ["dp-2"]);
  assert.deepEqual(http.kind === "forward" && http.peers.map((p) => p.slot), ["dp-1"]);
  const noGrpc = [member("dp-1", true, "http://h1:7500", "")];
  assert.deepEqual(decidePlacement(input({ shard: noGrpc, protocol: "grpc" })), {
    kind: "unavailable",
    shard: noGrpc,
  });
});

test("strict mode answers misdirected with the whole shard", () => {
  const shard = [member("dp-1", false), member("dp-2")];
  assert.deepEqual(decidePlacement(input({ shard, strict: true })), { kind: "misdirected", shard });
});

test("a forwarded request is never forwarded again: misdirected at a non-member", () => {
  const d = decidePlacement(input({ forwardedBy: "dp-5" }));
  assert.equal(d.kind, "misdirected");
});

test("no live member: shard unavailable, not served here", () => {
  const shard = [member("dp-1", false), member("dp-2", false)];
  assert.deepEqual(decidePlacement(input({ shard })), { kind: "unavailable", shard });
});

const slotName = fc.integer({ min: 0, max: 9 }).map((i) => `dp-${i}`);
const arbInput = fc.record({
  self: slotName,
  shard: fc.uniqueArray(
    fc.record({ slot: slotName, live: fc.boolean(), hasUrl: fc.boolean(), hasGrpc: fc.boolean() }),
    { selector: (m) => m.slot, maxLength: 5 },
  ),
  strict: fc.boolean(),
  forwardedBy: fc.option(slotName, { nil: undefined }),
  start: fc.nat(),
  protocol: fc.constantFrom<PlacementProtocol>("http", "grpc"),
});

test("property: forwards only to live members with an address, never itself, never a forwarded request", () => {
  fc.assert(
    fc.property(arbInput, (raw) => {
      const shard = raw.shard.map((m) =>
        member(m.slot, m.live, m.hasUrl ? `http://${m.slot}:1` : "", m.hasGrpc ? `${m.slot}:2` : ""),
      );
      const d = decidePlacement({ ...raw, shard });
      const isMember = shard.some((m) => m.slot === raw.self);
      if (shard.length === 0 || isMember) return d.kind === "local";
      if (raw.forwardedBy !== undefined || raw.strict) return d.kind === "misdirected";
      const usable = shard.filter((m) => m.live && memberAddress(m, raw.protocol) !== "");
      if (d.kind === "unavailable") return usable.length === 0;
      return (
        d.kind === "forward" &&
        d.peers.length === usable.length &&
        d.peers.every((p) => p.live && memberAddress(p, raw.protocol) !== "" && p.slot !== raw.self)
      );
    }),
    { seed: 4242, numRuns: 500 },
  );
});

test("property: rotation keeps every item once and starts at start % n", () => {
  fc.assert(
    fc.property(fc.array(fc.integer(), { minLength: 1, maxLength: 8 }), fc.nat(), (items, start) => {
      const r = rotate(items, start);
      return (
        r.length === items.length &&
        r[0] === items[start % items.length] &&
        [...r].sort().join() === [...items].sort().join()
      );
    }),
    { seed: 7, numRuns: 300 },
  );
});

test("shard members take zone, addresses and liveness from the slot table; unknown slots are dead", () => {
  const slots = slotTable([
    {
      name: "dp-1",
      zone: "zone-b",
      httpUrl: "http://h1:7500",
      grpcAddress: "h1:7600",
      live: true,
      lastSeenMs: 0,
    },
    { name: "dp-2", zone: "zone-c", httpUrl: "http://h2:7500", grpcAddress: "", live: false, lastSeenMs: 0 },
  ]);
  const shard = shardMembers(["dp-2", "dp-1", "dp-9"], slots);
  assert.deepEqual(shard, [
    { slot: "dp-2", zone: "zone-c", url: "http://h2:7500", grpcAddress: "", live: false },
    { slot: "dp-1", zone: "zone-b", url: "http://h1:7500", grpcAddress: "h1:7600", live: true },
    { slot: "dp-9", zone: "", url: "", grpcAddress: "", live: false },
  ]);
  assert.equal(shardHeader(shard, "http"), "http://h2:7500, http://h1:7500");
  assert.equal(shardHeader(shard, "grpc"), "h1:7600");
});
