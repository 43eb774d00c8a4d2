import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ManualTimers } from "../clock.ts";
import { GOING_AWAY, OpenSockets, orphaned, type SocketSlot } from "./open-sockets.ts";

const GRACE = 20;

function closable() {
  const closes: number[] = [];
  return { closes, socket: { close: (code: number) => closes.push(code) } };
}

test("the route's cap and the node's cap refuse at their limit; a release frees the slot once", () => {
  const sockets = new OpenSockets(
    { maxSockets: 3, maxSocketsPerTenant: 3, closeGraceMs: GRACE },
    new ManualTimers(),
  );
  const a = sockets.reserve("t", "r", 2) as SocketSlot;
  const b = sockets.reserve("t", "r", 2) as SocketSlot;
  assert.equal(sockets.reserve("t", "r", 2), "route_full");
  const c = sockets.reserve("t", "other", 2) as SocketSlot;
  assert.equal(sockets.reserve("u", "r", 5), "node_full");
  a.release();
  a.release(); // twice is harmless
  assert.equal(sockets.count("t", "r"), 1);
  assert.equal(sockets.size, 2);
  assert.notEqual(sockets.reserve("t", "r", 2), "route_full");
  for (const s of [b, c]) s.release();
});

test("a tenant's sockets over all its routes stop at its cap; other tenants still get slots", () => {
  const sockets = new OpenSockets(
    { maxSockets: 10, maxSocketsPerTenant: 3, closeGraceMs: GRACE },
    new ManualTimers(),
  );
  const held = ["r1", "r2", "r3"].map((r) => sockets.reserve("greedy", r, 5) as SocketSlot);
  assert.equal(sockets.reserve("greedy", "r4", 5), "tenant_full", "a new route does not open more");
  assert.equal(sockets.reserve("greedy", "r1", 5), "tenant_full");
  assert.equal(sockets.tenantCount("greedy"), 3);
  assert.notEqual(sockets.reserve("quiet", "r1", 5), "tenant_full");
  held[0]!.release();
  assert.equal(sockets.tenantCount("greedy"), 2);
  assert.equal(typeof sockets.reserve("greedy", "r4", 5), "object", "a release frees a tenant slot");
});

test("counts never go negative and always equal reservations minus releases (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 3 })), {
        maxLength: 200,
      }),
      (ops) => {
        const options = { maxSockets: 6, maxSocketsPerTenant: 4, closeGraceMs: GRACE };
        const sockets = new OpenSockets(options, new ManualTimers());
        const held: SocketSlot[] = [];
        for (const [take, tenant, route] of ops) {
          if (take) {
            const r = sockets.reserve(`t${tenant}`, `r${route}`, 2);
            if (typeof r !== "string") held.push(r);
          } else held.shift()?.release();
          assert.equal(sockets.size, held.length);
          assert.ok(sockets.size <= 6);
          for (let t = 0; t < 2; t++) {
            const mine = held.filter((s) => s.tenantId === `t${t}`).length;
            assert.equal(sockets.tenantCount(`t${t}`), mine);
            assert.ok(mine <= 4);
            for (let i = 0; i < 4; i++) assert.ok(sockets.count(`t${t}`, `r${i}`) <= 2);
          }
        }
      },
    ),
  );
});

test("orphaned picks exactly the sockets whose route the config no longer serves", () => {
  const slots = [
    { tenantId: "a", routeId: "keep" },
    { tenantId: "a", routeId: "gone" },
    { tenantId: "b", routeId: "keep" },
  ];
  const served = (t: string, r: string) => t === "a" && r === "keep";
  assert.deepEqual(orphaned(slots, served), slots.slice(1));
});

test("reconcile closes the orphaned sockets with 1001 after the grace, and only them", () => {
  const timers = new ManualTimers();
  const sockets = new OpenSockets({ maxSockets: 10, maxSocketsPerTenant: 10, closeGraceMs: GRACE }, timers);
  const kept = closable();
  const doomed = closable();
  (sockets.reserve("t", "keep", 5) as SocketSlot).attach(kept.socket);
  (sockets.reserve("t", "gone", 5) as SocketSlot).attach(doomed.socket);
  assert.equal(
    sockets.reconcile((_t, r) => r === "keep"),
    1,
  );
  timers.advance(GRACE - 1);
  assert.deepEqual(doomed.closes, [], "not before the grace");
  timers.advance(1);
  assert.deepEqual(doomed.closes, [GOING_AWAY]);
  assert.deepEqual(kept.closes, []);
});

test("closeAll closes every socket with 1001 and drops pending grace timers", () => {
  const sockets = new OpenSockets(
    { maxSockets: 10, maxSocketsPerTenant: 10, closeGraceMs: 60_000 },
    new ManualTimers(),
  );
  const one = closable();
  const two = closable();
  (sockets.reserve("t", "r", 5) as SocketSlot).attach(one.socket);
  (sockets.reserve("u", "r", 5) as SocketSlot).attach(two.socket);
  sockets.reconcile(() => false);
  sockets.closeAll("draining");
  assert.deepEqual([one.closes, two.closes], [[GOING_AWAY], [GOING_AWAY]]);
});

test("a socket still in its handshake when its route goes is closed as soon as it opens", () => {
  const timers = new ManualTimers();
  const sockets = new OpenSockets({ maxSockets: 10, maxSocketsPerTenant: 10, closeGraceMs: GRACE }, timers);
  const slot = sockets.reserve("t", "gone", 5) as SocketSlot;
  sockets.reconcile(() => false);
  timers.advance(GRACE);
  const late = closable();
  slot.attach(late.socket);
  assert.deepEqual(late.closes, [GOING_AWAY]);
});
