import assert from "node:assert/strict";
import { test } from "node:test";
import {
  policyOf,
  rateLimitHeader,
  rateLimitHeaders,
  rateLimitPolicyHeader,
  withQuotaPolicy,
} from "./rate-limit-headers.ts";

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

test("the period quota is a second policy beside the bucket's, or the only one", () => {
  const quota = { limit: 1000, remaining: 950.4, resetMs: 1_799_001, windowMs: 3_600_000 };
  const bucket = rateLimitHeaders({ quota: 10, windowS: 1, remaining: 4, resetS: 1 });
  assert.deepEqual(withQuotaPolicy(bucket, quota), {
    ratelimit: '"default";r=4;t=1, "quota";r=950;t=1800',
    "ratelimit-policy": '"default";q=10;w=1, "quota";q=1000;w=3600',
  });
  assert.deepEqual(withQuotaPolicy({}, { ...quota, remaining: 0 }), {
    ratelimit: '"quota";r=0;t=1800',
    "ratelimit-policy": '"quota";q=1000;w=3600',
  });
});
