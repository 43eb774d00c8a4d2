import assert from "node:assert/strict";
import { test } from "node:test";
import { STREAMING_BOUNDS, STREAMING_UNSET, streamingProblems, streamingSetting } from "./route-streaming.ts";

test("0 means the default; a set value is kept", () => {
  assert.equal(streamingSetting(STREAMING_UNSET, "websocketMaxMessageBytes"), 1024 * 1024);
  assert.equal(
    streamingSetting({ ...STREAMING_UNSET, websocketIdleTimeoutMs: 5000 }, "websocketIdleTimeoutMs"),
    5000,
  );
});

test("values outside the bounds are problems, each named; the bounds themselves are fine", () => {
  assert.deepEqual(streamingProblems("r", STREAMING_UNSET), []);
  for (const [name, b] of Object.entries(STREAMING_BOUNDS)) {
    assert.deepEqual(streamingProblems("r", { ...STREAMING_UNSET, [name]: b.min }), []);
    assert.deepEqual(streamingProblems("r", { ...STREAMING_UNSET, [name]: b.max }), []);
    const over = streamingProblems("r", { ...STREAMING_UNSET, [name]: b.max + 1 });
    assert.equal(over.length, 1);
    assert.match(over[0]!, new RegExp(name));
  }
  assert.equal(streamingProblems("r", { ...STREAMING_UNSET, websocketMaxMessageBytes: 1.5 }).length, 1);
});
