import assert from "node:assert/strict";
import { test } from "node:test";
import { Debouncer, type Timers } from "./debounce.ts";

/** A manual clock: advance(ms) runs due timers in order. */
function fakeTimers() {
  let now = 0;
  let nextId = 0;
  const due = new Map<number, { at: number; fn: () => void }>();
  const timers: Timers = {
    now: () => now,
    setTimeout: (fn, ms) => {
      due.set(++nextId, { at: now + ms, fn });
      return nextId;
    },
    clearTimeout: (h) => due.delete(h as number),
  };
  const advance = (ms: number) => {
    const until = now + ms;
    for (;;) {
      const next = [...due.entries()].sort((a, b) => a[1].at - b[1].at)[0];
      if (!next || next[1].at > until) break;
      due.delete(next[0]);
      now = next[1].at;
      next[1].fn();
    }
    now = until;
  };
  return { timers, advance };
}

function setup() {
  const { timers, advance } = fakeTimers();
  const fired: number[] = [];
  const d = new Debouncer(() => fired.push(timers.now()), { quietMs: 100, maxDelayMs: 1000, timers });
  return { d, fired, advance };
}

test("fires once, quietMs after the last trigger", () => {
  const { d, fired, advance } = setup();
  d.trigger();
  advance(50);
  d.trigger();
  advance(99);
  assert.deepEqual(fired, []);
  advance(1);
  assert.deepEqual(fired, [150]);
  assert.equal(d.pending, false);
});

test("a continuous stream of triggers still fires every maxDelayMs", () => {
  const { d, fired, advance } = setup();
  for (let i = 0; i < 250; i++) {
    d.trigger();
    advance(10);
  }
  assert.deepEqual(fired, [1000, 2000]);
});

test("cancel drops a pending fire", () => {
  const { d, fired, advance } = setup();
  d.trigger();
  d.cancel();
  advance(5000);
  assert.deepEqual(fired, []);
});

test("leading: a lone trigger fires at once; triggers within quietMs after it are debounced", () => {
  const { timers, advance } = fakeTimers();
  const fired: number[] = [];
  const d = new Debouncer(() => fired.push(timers.now()), {
    quietMs: 100,
    maxDelayMs: 1000,
    timers,
    leading: true,
  });
  d.trigger();
  assert.deepEqual(fired, [0]);
  assert.equal(d.pending, false);
  advance(30);
  d.trigger();
  advance(30);
  d.trigger();
  assert.deepEqual(fired, [0]);
  advance(100);
  assert.deepEqual(fired, [0, 160]);
  advance(50);
  d.trigger(); // 50 ms after the last fire: still debounced
  advance(100);
  assert.deepEqual(fired, [0, 160, 310]);
  advance(500);
  d.trigger(); // after a quiet window: at once again
  assert.deepEqual(fired, [0, 160, 310, 810]);
});
