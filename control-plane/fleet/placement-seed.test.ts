import assert from "node:assert/strict";
import { test } from "node:test";
import { generateSigningKeyPair, parsePrivateKey } from "../../proto/signing-keys.ts";
import { placementSeed } from "./placement-seed.ts";

const key = parsePrivateKey(generateSigningKeyPair().privateKey);

test("without CORRAL_PLACEMENT_SEED the seed is derived from the signing key, deterministically", () => {
  const a = placementSeed("", key);
  const b = placementSeed("", parsePrivateKey(key.export({ format: "pem", type: "pkcs8" }).toString()));
  assert.equal(a.source, "CORRAL_SIGNING_KEY");
  assert.deepEqual(a.seed, b.seed, "the same key in another encoding gives the same seed");
  assert.equal(a.seed.length, 32);
  const other = placementSeed("", parsePrivateKey(generateSigningKeyPair().privateKey));
  assert.notDeepEqual(other.seed, a.seed);
  assert.ok(!a.seed.equals(key.export({ format: "der", type: "pkcs8" }).subarray(-32)), "not the raw key");
});

test("an explicit seed wins; the fingerprint identifies a seed without revealing it", () => {
  const s = placementSeed("an-explicit-seed-of-some-length", key);
  assert.equal(s.source, "CORRAL_PLACEMENT_SEED");
  assert.equal(s.seed.toString(), "an-explicit-seed-of-some-length");
  assert.match(s.fingerprint, /^[0-9a-f]{16}$/);
  assert.equal(placementSeed("an-explicit-seed-of-some-length", key).fingerprint, s.fingerprint);
  assert.notEqual(placementSeed("", key).fingerprint, s.fingerprint);
});
