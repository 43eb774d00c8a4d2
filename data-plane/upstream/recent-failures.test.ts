import assert from "node:assert/strict";
import { test } from "node:test";
import { RecentFailures } from "./recent-failures.ts";

function clock(start = 1000) {
  const c = { now: start, read: () => c.now };
  return c;
}

const self = (s: string) => s;

test("a marked key counts as failed for exactly the duration, then is forgotten", () => {
  const c = clock();
  const memory = new RecentFailures(c.read, 2000);
  assert.equal(memory.failed("a"), false);
  memory.mark("a");
  assert.equal(memory.failed("a"), true);
  c.now += 1999;
  assert.equal(memory.failed("a"), true);
  c.now += 1;
  assert.equal(memory.failed("a"), false, "the time is up at mark + duration");
  assert.equal(memory.size, 0, "an expired entry is dropped when asked about");
});

test("firstLive skips failed items and falls back to the first when all failed", () => {
  const c = clock();
  const memory = new RecentFailures(c.read, 5000);
  const items = ["a", "b", "c"];
  assert.equal(memory.firstLive(items, self), "a");
  memory.mark("a");
  assert.equal(memory.firstLive(items, self), "b");
  memory.mark("b");
  memory.mark("c");
  assert.equal(memory.firstLive(items, self), "a", "every item failed: the first (it may be back)");
  c.now += 5000;
  assert.equal(memory.firstLive(items, self), "a");
  assert.equal(memory.firstLive([], self), undefined);
});

test("live keeps the order of the items that did not fail, or all of them", () => {
  const c = clock();
  const memory = new RecentFailures(c.read, 2000);
  const items = [{ k: "x" }, { k: "y" }, { k: "z" }];
  const keyOf = (i: { k: string }) => i.k;
  memory.mark("y");
  assert.deepEqual(memory.live(items, keyOf).map(keyOf), ["x", "z"]);
  memory.mark("x");
  memory.mark("z");
  assert.deepEqual(memory.live(items, keyOf).map(keyOf), ["x", "y", "z"]);
  c.now += 2000;
  memory.mark("z");
  assert.deepEqual(memory.live(items, keyOf).map(keyOf), ["x", "y"]);
});
