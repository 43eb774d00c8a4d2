import assert from "node:assert/strict";
import { test } from "node:test";
import type { SeriesPoint } from "../generator/merge.ts";
import { longestStallCluster, MIN_REQUESTS_PER_SECOND } from "./stall-cluster.ts";

const point = (second: number, ok: number, p99Ms: number, maxMs = p99Ms): SeriesPoint => ({
  second,
  scheduled: ok,
  ok,
  errors: 0,
  outcomes: {},
  p50Ms: 1,
  p99Ms,
  p999Ms: maxMs,
  maxMs,
});

test("the longest stall cluster is the worst per-second p99, where it happened", () => {
  const series = [point(0, 500, 2, 3), point(1, 500, 61, 62), point(2, 500, 2, 90), point(3, 500, 9)];
  assert.deepEqual(longestStallCluster(series), { ms: 61, second: 1 });
});

test("a lone slow request is no cluster; thin seconds are not judged", () => {
  const lone = point(0, 500, 2, 80);
  const thin = point(1, MIN_REQUESTS_PER_SECOND - 1, 50);
  assert.deepEqual(longestStallCluster([lone, thin]), { ms: 2, second: 0 });
  assert.deepEqual(longestStallCluster([]), { ms: 0, second: -1 });
});
