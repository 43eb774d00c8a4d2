import assert from "node:assert/strict";
import { test } from "node:test";
import { DemandCounter } from "./demand-counter.ts";

const T0 = 1_000_000;

function send(counter: DemandCounter, tenant: string, fromMs: number, toMs: number, perSecond: number): void {
  const gap = 1000 / perSecond;
  for (let t = fromMs; t < toMs; t += gap) counter.note(tenant, t);
}

test("rate is requests per second over the last full window", () => {
  const c = new DemandCounter();
  send(c, "acme", T0, T0 + 2000, 40);
  assert.equal(c.rate("acme", T0 + 2000), 40);
  assert.equal(c.rate("other", T0 + 2000), 0);
});

test("the current, partial slice does not count; older slices drop out", () => {
  const c = new DemandCounter({ sliceMs: 250, buckets: 4 });
  send(c, "acme", T0, T0 + 1000, 100); // 100 requests in [T0, T0+1s)
  assert.equal(c.rate("acme", T0 + 1000), 100);
  c.note("acme", T0 + 1100); // in the current slice
  assert.equal(c.rate("acme", T0 + 1100), 100);
  assert.equal(c.rate("acme", T0 + 1250), 76); // first slice gone, the new request counted
  assert.equal(c.rate("acme", T0 + 5000), 0);
});

test("a long pause zeroes everything, however long", () => {
  const c = new DemandCounter();
  send(c, "acme", T0, T0 + 1000, 20);
  c.note("acme", T0 + 1_000_000);
  assert.equal(c.rate("acme", T0 + 1_000_250), 1); // only the new request: 1 per second
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
