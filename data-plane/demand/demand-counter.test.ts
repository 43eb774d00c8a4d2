import assert from "node:assert/strict";
import { test } from "node:test";
import { DemandCounter } from "./demand-counter.ts";

const T0 = 1_000_000;

function send(counter: DemandCounter, tenant: string, fromMs: number, toMs: number, perSecond: number): void {
  const gap = 1000 / perSecond;
  for (let t = fromMs; t < toMs; t += gap) counter.note(tenant, t);
}

test("rate is requests per second over the last window", () => {
  const c = new DemandCounter();
  send(c, "acme", T0, T0 + 2000, 40);
  assert.equal(c.rate("acme", T0 + 2000), 40);
  assert.equal(c.rate("other", T0 + 2000), 0);
});

test("the window is the current slice and the ones before it; older slices drop out", () => {
  const c = new DemandCounter({ sliceMs: 250, buckets: 4 });
  send(c, "acme", T0, T0 + 1000, 100); // 100 requests in [T0, T0+1s)
  assert.equal(c.rate("acme", T0 + 1000), 100); // 75 requests in the 750 ms since T0+250
  c.note("acme", T0 + 1100);
  assert.equal(c.rate("acme", T0 + 1100), 76 / 0.85);
  assert.equal(c.rate("acme", T0 + 5000), 0);
});

test("a tenant seen only just now is measured since its first request", () => {
  const c = new DemandCounter();
  send(c, "acme", T0 + 130, T0 + 230, 100); // 10 requests in 100 ms
  assert.equal(c.rate("acme", T0 + 230), 100);
  c.note("once", T0 + 400);
  assert.equal(c.rate("once", T0 + 401), 10, "at least 100 ms: one request is not 1000 req/s");
});

test("a long pause zeroes everything, however long", () => {
  // a tenant kept however long it idles (an activeMs without end), so its slices are what counts
  const c = new DemandCounter({ activeMs: Number.POSITIVE_INFINITY });
  send(c, "acme", T0, T0 + 1000, 20);
  c.note("acme", T0 + 1_000_000);
  assert.equal(c.rate("acme", T0 + 1_000_250), 1 / 0.75); // only the new request, over 750 ms
});

test("a clock going backwards never corrupts later slices", () => {
  const c = new DemandCounter();
  send(c, "acme", T0, T0 + 1000, 20);
  c.note("acme", T0 - 10_000);
  assert.ok(c.rate("acme", T0 + 1000) >= 20);
});

test("active tenants: seen within activeMs; the others are forgotten", () => {
  const c = new DemandCounter({ activeMs: 5000 });
  c.note("old", T0);
  c.note("new", T0 + 4000);
  assert.deepEqual(c.active(T0 + 5000).sort(), ["new", "old"]);
  assert.deepEqual(c.active(T0 + 6000), ["new"]);
  assert.equal(c.size, 1);
});

test("bounded: the least recently seen tenant goes first", () => {
  const c = new DemandCounter({ maxTenants: 2 });
  c.note("a", T0);
  c.note("b", T0);
  c.note("a", T0 + 1);
  c.note("c", T0 + 2);
  assert.deepEqual(c.active(T0 + 3).sort(), ["a", "c"]);
});

test("a node that never asks for active tenants still forgets idle ones, once per activeMs", () => {
  const c = new DemandCounter({ activeMs: 5000 });
  // 1,000 tenants come and go, 20 at a time, every 10 s (deleted, or their traffic moved away)
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 20; i++) c.note(`t-${round}-${i}`, T0 + round * 10_000 + i);
    assert.ok(c.size <= 40, `round ${round}: ${c.size} tenants tracked`);
  }
  // a tenant back after a pause beyond activeMs starts over as a new one
  c.note("t-49-0", T0 + 600_000);
  assert.equal(c.rate("t-49-0", T0 + 600_250), 1 / 0.25);
});
