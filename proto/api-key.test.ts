import assert from "node:assert/strict";
import { test } from "node:test";
import { apiKeyId, generateApiKey, hashApiKey, hashesEqual } from "./api-key.ts";

test("generated keys are prefixed, unique, and hash to their stored hash", () => {
  const a = generateApiKey();
  const b = generateApiKey();
  assert.match(a.key, /^crl_[0-9a-f]{12}_/);
  assert.notEqual(a.key, b.key);
  assert.equal(apiKeyId(a.key), a.id);
  assert.ok(hashesEqual(hashApiKey(a.key), a.hash));
  assert.ok(!hashesEqual(hashApiKey(b.key), a.hash));
  assert.equal(a.hash.length, 32);
});

test("malformed or oversized keys have no id", () => {
  for (const k of ["", "crl_", "crl_zz_abc", `crl_0123456789ab_${"a".repeat(42)}`, "x".repeat(10_000)]) {
    assert.equal(apiKeyId(k), undefined, k.slice(0, 30));
  }
});

test("hash comparison tolerates length mismatch", () => {
  assert.equal(hashesEqual(Buffer.alloc(32), Buffer.alloc(31)), false);
});
