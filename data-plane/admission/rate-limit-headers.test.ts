import assert from "node:assert/strict";
import { test } from "node:test";
import { policyOf, rateLimitHeader, rateLimitHeaders, rateLimitPolicyHeader } from "./rate-limit-headers.ts";

test("structured-field syntax of the current draft", () => {
  assert.equal(rateLimitPolicyHeader(100, 60), '"default";q=100;w=60');
  assert.equal(rateLimitHeader(4.7, 2.1), '"default";r=4;t=3');
  assert.deepEqual(rateLimitHeaders({ quota: 10, windowS: 1, remaining: -0.5, resetS: 0 }), {
    ratelimit: '"default";r=0;t=0',
    "ratelimit-policy": '"default";q=10;w=1',
  });
});

test("a bucket's policy: its capacity over the whole seconds it takes to refill", () => {
  assert.deepEqual(policyOf(10, 20), { quota: 20, windowS: 2 });
  assert.deepEqual(policyOf(10 / 3, 1), { quota: 3, windowS: 1 });
  assert.deepEqual(policyOf(0.1, 1), { quota: 1, windowS: 10 });
});
