import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { fingerprint, idempotencyAsk, RECORD_PREFIX, recordKeys } from "./idempotency-key.ts";

test("only keyed POST and PATCH on routes that opt in are idempotent-by-key", () => {
  const keyed = { "idempotency-key": "abc" };
  assert.deepEqual(idempotencyAsk(true, "POST", keyed), { kind: "keyed", key: "abc" });
  assert.deepEqual(idempotencyAsk(true, "PATCH", keyed), { kind: "keyed", key: "abc" });
  for (const method of ["GET", "PUT", "DELETE", "HEAD", "OPTIONS"])
    assert.equal(idempotencyAsk(true, method, keyed).kind, "none", method);
  assert.equal(idempotencyAsk(false, "POST", keyed).kind, "none");
  assert.equal(idempotencyAsk(true, "POST", {}).kind, "none");
});

test("keys are 1-255 visible ASCII characters, one header", () => {
  const ask = (key: string | string[]) => idempotencyAsk(true, "POST", { "idempotency-key": key }).kind;
  assert.equal(ask("k".repeat(255)), "keyed");
  assert.equal(ask("k".repeat(256)), "invalid");
  assert.equal(ask(""), "invalid");
  assert.equal(ask("a b"), "invalid");
  assert.equal(ask("clé"), "invalid");
  assert.equal(ask(["a", "b"]), "invalid");
});

test("record names: per tenant, hashed, never the raw key; record and lease share a hash slot", () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 40 }),
      fc.string({ maxLength: 40 }),
      fc.string({ maxLength: 300 }),
      (tenant, caller, key) => {
        const names = recordKeys(tenant, caller, key);
        assert.match(names.record, new RegExp(`^${RECORD_PREFIX}\\{[0-9a-f]{64}\\}$`));
        assert.equal(names.lease, `${names.record}:lease`);
        assert.notEqual(recordKeys(`${tenant}x`, caller, key).record, names.record);
        assert.notEqual(recordKeys(tenant, `${caller}x`, key).record, names.record);
      },
    ),
  );
  assert.notEqual(recordKeys("a", "", "b:c").record, recordKeys("a:b", "", "c").record);
});

test("the fingerprint covers method, path and query, and body", () => {
  const base = fingerprint("POST", "/o?x=1", Buffer.from("{}"));
  assert.equal(fingerprint("POST", "/o?x=1", Buffer.from("{}")), base);
  assert.notEqual(fingerprint("PATCH", "/o?x=1", Buffer.from("{}")), base);
  assert.notEqual(fingerprint("POST", "/o?x=2", Buffer.from("{}")), base);
  assert.notEqual(fingerprint("POST", "/o?x=1", Buffer.from("{ }")), base);
});
