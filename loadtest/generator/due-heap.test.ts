import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { DueHeap } from "./due-heap.ts";

test("the heap pops tenants in due order", () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { maxLength: 300 }), (dues) => {
      const heap = new DueHeap();
      for (const [i, d] of dues.entries()) heap.push(d, i);
      const popped: number[] = [];
      while (heap.size > 0) {
        const due = heap.peekDue();
        const tenant = heap.pop();
        assert.equal(dues[tenant], due);
        popped.push(due);
      }
      assert.deepEqual(
        popped,
        [...dues].sort((a, b) => a - b),
      );
      assert.equal(heap.peekDue(), Number.POSITIVE_INFINITY);
    }),
    { seed: 7 },
  );
});
