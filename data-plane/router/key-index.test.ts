import assert from "node:assert/strict";
import { test } from "node:test";
import { generateApiKey, hashApiKey } from "../../proto/api-key.ts";
import { KeyIndex, presentedKey } from "./key-index.ts";

test("a key is identified by the hash of what is presented", () => {
  const index = new KeyIndex<string>();
  const a = generateApiKey();
  const b = generateApiKey();
  index.add(a.id, a.hash.toString("hex"), "tenant-a");
  index.add(b.id, b.hash.toString("hex"), "tenant-b");
  assert.deepEqual(index.identify(a.key), {
    keyId: a.id,
    hashHex: a.hash.toString("hex"),
    tenant: "tenant-a",
  });
  assert.equal(index.identify(b.key)?.tenant, "tenant-b");
  assert.equal(index.size, 2);
});

test("unknown, altered, empty and oversized keys identify nothing", () => {
  const index = new KeyIndex<string>();
  const a = generateApiKey();
  index.add(a.id, a.hash.toString("hex"), "t");
  assert.equal(index.identify(generateApiKey().key), undefined);
  assert.equal(index.identify(`${a.key.slice(0, -1)}x`), undefined);
  assert.equal(index.identify(a.hash.toString("hex")), undefined, "the hash itself is not a key");
  assert.equal(index.identify(""), undefined);
  assert.equal(index.identify(undefined), undefined);
  assert.equal(index.identify(a.key + "x".repeat(200)), undefined);
});

test("keys of any shape are hashed, not parsed", () => {
  const index = new KeyIndex<string>();
  index.add("legacy", hashApiKey("legacy-key").toString("hex"), "t");
  assert.equal(index.identify("legacy-key")?.keyId, "legacy");
});

test("the key comes from x-api-key, else a Bearer authorization", () => {
  assert.equal(presentedKey({ "x-api-key": "k1" }), "k1");
  assert.equal(presentedKey({ authorization: "Bearer k2" }), "k2");
  assert.equal(presentedKey({ authorization: "bearer  k3 " }), "k3");
  assert.equal(presentedKey({ "x-api-key": "k1", authorization: "Bearer k2" }), "k1");
  assert.equal(presentedKey({ authorization: "Basic abc" }), undefined);
  assert.equal(presentedKey({ authorization: "Bearer " }), undefined);
  assert.equal(presentedKey({}), undefined);
});
