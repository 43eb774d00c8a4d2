import assert from "node:assert/strict";
import { test } from "node:test";
import { DATA_PLANE_V8_FLAGS, missingV8Flags } from "./node-flags.ts";

test("a flag counts when it is on the command line or in NODE_OPTIONS, in either spelling", () => {
  const [flag, ...rest] = DATA_PLANE_V8_FLAGS;
  assert.ok(flag);
  assert.deepEqual(missingV8Flags([]), [...DATA_PLANE_V8_FLAGS]);
  assert.deepEqual(missingV8Flags([...DATA_PLANE_V8_FLAGS]), []);
  assert.deepEqual(missingV8Flags([], `--enable-source-maps ${DATA_PLANE_V8_FLAGS.join(" ")}`), []);
  assert.deepEqual(missingV8Flags([flag.replaceAll("-", "_").replace(/^__/, "--"), ...rest]), []);
  assert.deepEqual(missingV8Flags([`${flag}0`, ...rest]), [flag], "another value is not this flag");
});
