import assert from "node:assert/strict";
import { test } from "node:test";
import { TurnBudget } from "./turn-budget.ts";

test("due only once the turn has run past its budget, reading the clock every `every` calls", async () => {
  let now = 0;
  let reads = 0;
  const turns = new TurnBudget({
    budgetMs: 20,
    every: 4,
    now: () => {
      reads++;
      return now;
    },
  });
  const calls = (n: number) => Array.from({ length: n }, () => turns.due());
  assert.deepEqual(calls(8), [false, false, false, false, false, false, false, false]);
  now = 25;
  assert.deepEqual(calls(4), [false, false, false, true]);
  assert.equal(reads, 1 + 3, "the clock is read at construction and every 4th call");
  await turns.yield();
  assert.equal(turns.yields, 1);
  assert.deepEqual(calls(4), [false, false, false, false], "a new turn starts after the yield");
  now = 50;
  assert.equal(calls(4).at(-1), true);
});

test("yield lets timers and I/O callbacks of the event loop run", async () => {
  const turns = new TurnBudget();
  let ran = false;
  setImmediate(() => {
    ran = true;
  });
  await turns.yield();
  assert.ok(ran);
});
