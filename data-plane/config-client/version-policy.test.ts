import assert from "node:assert/strict";
import { test } from "node:test";
import { type ApplyTrigger, coalesce, decideVersion } from "./version-policy.ts";

test("versions: newer applies, older is a regression, equal is the same or a conflict", () => {
  const served = { version: 5, digestHex: "aa" };
  assert.equal(decideVersion(undefined, { version: 1, digestHex: "x" }), "apply");
  assert.equal(decideVersion(served, { version: 6, digestHex: "bb" }), "apply");
  assert.equal(decideVersion(served, { version: 4, digestHex: "aa" }), "regression");
  assert.equal(decideVersion(served, { version: 5, digestHex: "aa" }), "same");
  assert.equal(decideVersion(served, { version: 5, digestHex: "bb" }), "conflict");
});

const pull: ApplyTrigger = { kind: "pull" };
const boot: ApplyTrigger = { kind: "boot" };
const announce = (version: number): ApplyTrigger => ({
  kind: "announce",
  version,
  key: `k${version}`,
  sha256: "s",
});

test("coalescing keeps one waiting trigger: the newest, never a lower named version", () => {
  assert.equal(coalesce(undefined, pull), pull);
  assert.deepEqual(coalesce(pull, announce(3)), announce(3));
  assert.deepEqual(coalesce(announce(3), announce(4)), announce(4));
  assert.deepEqual(coalesce(announce(4), announce(3)), announce(4));
  assert.deepEqual(coalesce(announce(4), { ...announce(4), kind: "welcome" }), {
    ...announce(4),
    kind: "welcome",
  });
  assert.deepEqual(
    coalesce(announce(4), pull),
    announce(4),
    "a pull comes again; the announce names a version",
  );
  assert.equal(coalesce(announce(4), boot), boot);
  assert.equal(coalesce(pull, pull), pull);
});
