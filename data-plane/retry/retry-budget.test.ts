import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { type BudgetParams, RetryBudget, RetryBudgets } from "./retry-budget.ts";

const params = (over: Partial<BudgetParams> = {}): BudgetParams => ({
  ratio: 0.1,
  floorPerSecond: 0,
  windowMs: 10_000,
  ...over,
});

test("with no requests only the floor is granted: floorPerSecond × window seconds", () => {
  let now = 0;
  const budget = new RetryBudget(() => now);
  const p = params({ floorPerSecond: 2 });
  let granted = 0;
  for (let i = 0; i < 100; i++) if (budget.tryRetry(p)) granted++;
  assert.equal(granted, 20);
  now = 25_000; // the window has passed: the floor is back
  assert.equal(budget.tryRetry(p), true);
});

test("10 % of the requests in the window", () => {
  let now = 0;
  const budget = new RetryBudget(() => now);
  const p = params();
  for (let i = 0; i < 1000; i++) budget.onRequest(p);
  let granted = 0;
  for (let i = 0; i < 1000; i++) if (budget.tryRetry(p)) granted++;
  assert.equal(granted, 100);
  now = 30_000; // the requests aged out of the window: nothing left
  assert.equal(budget.tryRetry(p), false);
});

test("a request just past the window no longer pays for a retry (the slices never stretch the window)", () => {
  const p = params({ ratio: 1 });
  const at = (ms: number) => {
    let now = 0;
    const budget = new RetryBudget(() => now);
    budget.onRequest(p);
    now = ms;
    return budget.tryRetry(p);
  };
  assert.equal(at(9_999), true);
  assert.equal(at(10_500), false); // (500, 10500] holds no request
});

test("property: at every granted retry, retries in the last window ≤ ratio × requests in it + floor", () => {
  const event = fc.record({
    dt: fc.integer({ min: 0, max: 3_000 }),
    kind: fc.constantFrom("request", "request", "retry"),
    n: fc.integer({ min: 1, max: 20 }),
  });
  fc.assert(
    fc.property(
      fc.record({
        ratio: fc.double({ min: 0, max: 1, noNaN: true }),
        floorPerSecond: fc.integer({ min: 0, max: 5 }),
        windowMs: fc.integer({ min: 100, max: 20_000 }),
      }),
      fc.array(event, { maxLength: 200 }),
      (p, events) => {
        let now = 0;
        const budget = new RetryBudget(() => now);
        const requests: number[] = [];
        const retries: number[] = [];
        const inWindow = (times: number[]) => times.filter((t) => t > now - p.windowMs).length;
        for (const e of events) {
          now += e.dt;
          for (let i = 0; i < e.n; i++) {
            if (e.kind === "request") {
              budget.onRequest(p);
              requests.push(now);
            } else if (budget.tryRetry(p)) {
              retries.push(now);
              const share = p.ratio * inWindow(requests) + (p.floorPerSecond * p.windowMs) / 1000;
              if (inWindow(retries) > share + 1e-9) return false;
            }
          }
        }
        return true;
      },
    ),
    { numRuns: 300 },
  );
});

test("budgets are per tenant and upstream, and idle ones are swept", () => {
  let now = 0;
  const budgets = new RetryBudgets(() => now);
  const a = budgets.for("t1", "u1");
  assert.equal(budgets.for("t1", "u1"), a);
  assert.notEqual(budgets.for("t2", "u1"), a);
  a.onRequest(params());
  assert.equal(budgets.size, 2);
  now = 200_000;
  budgets.for("t3", "u1");
  assert.equal(budgets.size, 1);
});
