import assert from "node:assert/strict";
import { test } from "node:test";
import { CodedError } from "./coded-error.ts";
import { SnapshotError } from "./snapshot-errors.ts";

test("a coded error keeps its code and message and is named for its class", () => {
  const err = new SnapshotError("CORRAL_SNAPSHOT_TRUNCATED", "blob is 3 bytes");
  assert.ok(err instanceof CodedError && err instanceof Error);
  assert.deepEqual(
    [err.name, err.code, err.message],
    ["SnapshotError", "CORRAL_SNAPSHOT_TRUNCATED", "blob is 3 bytes"],
  );
  assert.match(String(err), /^SnapshotError: blob is 3 bytes/);
});
