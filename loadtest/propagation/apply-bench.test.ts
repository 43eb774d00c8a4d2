import assert from "node:assert/strict";
import { test } from "node:test";
import { parseApplyOutput } from "./apply-bench.ts";

const OUTPUT = `snapshot: 2000 tenants x 1 routes + 1 keys; payload 108705 bytes, blob 1048576 bytes; built in 232 ms
first apply (new version): {
  changed: true,
  applyMs: 1432,
  wallMs: 1437,
  longestStallWallMs: 81.3,
  longestStallCpuMs: 4,
  loopDelayMaxMs: 82.1,
  loopDelayP99Ms: 29.3
}
  tenants indexed: 2000
second pull (same version, re-verify): {
  changed: false,
  applyMs: 15,
  wallMs: 15,
  longestStallWallMs: 1.4,
  longestStallCpuMs: 3.2,
  loopDelayMaxMs: 1.6,
  loopDelayP99Ms: 1.6
}
`;

test("parses the data-plane apply bench's figures", () => {
  const figures = parseApplyOutput(OUTPUT);
  assert.equal(figures.payloadBytes, 108705);
  assert.equal(figures.blobBytes, 1048576);
  assert.equal(figures.first.applyMs, 1432);
  assert.equal(figures.first.longestStallWallMs, 81.3);
  assert.equal(figures.first.longestStallCpuMs, 4);
  assert.equal(figures.same.applyMs, 15);
  assert.equal(figures.same.loopDelayP99Ms, 1.6);
});

test("output without the figures is an error naming what is missing", () => {
  assert.throws(() => parseApplyOutput("snapshot: payload 1 bytes, blob 2 bytes\n"), /first apply/);
  assert.throws(
    () => parseApplyOutput(OUTPUT.replace(/ {2}longestStallCpuMs: 4,\n/, "")),
    /longestStallCpuMs/,
  );
  assert.throws(() => parseApplyOutput("nothing"), /snapshot sizes/);
});
