import assert from "node:assert/strict";
import { test } from "node:test";
import { longestGap } from "./node-watch.ts";

test("the longest stretch without a version change, inside the window only", () => {
  assert.equal(longestGap([], 100, 400), 300);
  assert.equal(longestGap([150, 200, 380], 100, 400), 180);
  assert.equal(longestGap([390, 120], 100, 400), 270, "unsorted changes");
  assert.equal(longestGap([50, 450], 100, 400), 300, "changes outside the window do not count");
  assert.equal(longestGap([100, 400], 100, 400), 300, "changes on the edges do not split it");
});
