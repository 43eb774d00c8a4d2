import assert from "node:assert/strict";
import { test } from "node:test";
import { PublishTrace } from "./publish-trace.ts";

test("each phase is the time since the previous mark; the first since the request", () => {
  let t = 100;
  const trace = new PublishTrace(() => t, 40);
  trace.mark("wait");
  t = 130;
  trace.mark("revisions");
  t = 131.26;
  trace.mark("compile");
  assert.deepEqual(trace.summary(), { wait: 60, revisions: 30, compile: 1.3 });
});

test("a phase marked twice adds up and the summary keeps the publish order", () => {
  let t = 0;
  const trace = new PublishTrace(() => t);
  t = 2;
  trace.mark("transaction");
  t = 5;
  trace.mark("parts");
  t = 9;
  trace.mark("transaction");
  assert.deepEqual(Object.entries(trace.summary()), [
    ["parts", 3],
    ["transaction", 6],
  ]);
});
