import assert from "node:assert/strict";
import { test } from "node:test";
import { encodePointer, parsePointer, snapshotKey } from "./blob-keys.ts";

test("snapshot keys sort by version", () => {
  assert.equal(snapshotKey(42), "snapshots/00000000000000000042.snap");
  assert.ok(snapshotKey(9) < snapshotKey(10));
});

test("pointer round trip and rejection of anything else", () => {
  const p = { version: 3, key: snapshotKey(3), sha256: "a".repeat(64) };
  assert.deepEqual(parsePointer(encodePointer(p)), p);
  const bad = [
    "null",
    "[]",
    "{}",
    JSON.stringify({ ...p, version: -1 }),
    JSON.stringify({ ...p, key: "../etc/passwd" }),
    JSON.stringify({ ...p, sha256: "xyz" }),
    "not json",
    " ".repeat(5000),
  ];
  for (const text of bad) assert.throws(() => parsePointer(Buffer.from(text)), text.slice(0, 20));
});
