import assert from "node:assert/strict";
import { test } from "node:test";
import { parseDurationSec } from "./duration.ts";

test("durations with units and bare seconds", () => {
  assert.equal(parseDurationSec("90"), 90);
  assert.equal(parseDurationSec("90s"), 90);
  assert.equal(parseDurationSec("35m"), 2100);
  assert.equal(parseDurationSec("2h"), 7200);
  assert.equal(parseDurationSec("1h30m"), 5400);
  assert.equal(parseDurationSec(" 2m30s "), 150);
  assert.equal(parseDurationSec("0.5m"), 30);
});

test("anything else is refused with the value in the message", () => {
  for (const bad of ["", "2x", "h", "2h junk", "-5m", "2 h"])
    assert.throws(
      () => parseDurationSec(bad),
      (err: Error) => err instanceof RangeError && err.message.includes(JSON.stringify(bad)),
    );
});
