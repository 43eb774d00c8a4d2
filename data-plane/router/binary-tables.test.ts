import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import fc from "fast-check";
import { buildKeyTable, buildTenantTables, findKey, findTenant, fnv1a } from "./binary-tables.ts";

const sha = (s: string) => createHash("sha256").update(s).digest();

test("every key put in the table is found with its tenant and ordinal; others are not", () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 300 }), (names) => {
      const keys = names.map((n, i) => ({ hash: sha(n), tenantIndex: i % 7, ordinal: i }));
      const table = buildKeyTable(keys);
      for (const k of keys)
        assert.deepEqual(findKey(table, k.hash), { tenantIndex: k.tenantIndex, ordinal: k.ordinal });
      assert.equal(findKey(table, sha(`absent:${names.join("|")}`)), undefined);
    }),
    { seed: 7, numRuns: 60 },
  );
});

test("hashes sharing their first bytes probe on and are told apart", () => {
  const h1 = Buffer.alloc(32, 1);
  const h2 = Buffer.from(h1);
  h2[31] = 2;
  const table = buildKeyTable([
    { hash: h1, tenantIndex: 0, ordinal: 0 },
    { hash: h2, tenantIndex: 1, ordinal: 5 },
  ]);
  assert.deepEqual(findKey(table, h2), { tenantIndex: 1, ordinal: 5 });
  const h3 = Buffer.from(h1);
  h3[31] = 3;
  assert.equal(findKey(table, h3), undefined);
  assert.equal(findKey(table, h1.subarray(0, 31)), undefined);
  assert.equal(findKey(buildKeyTable([]), h1), undefined);
});

test("every tenant id is found at its index; prefixes and others are not", () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/), { maxLength: 300 }), (ids) => {
      const tables = buildTenantTables(ids);
      for (const [i, id] of ids.entries()) assert.equal(findTenant(tables, id), i);
      for (const id of ids.slice(0, 20)) {
        if (!ids.includes(`${id}x`)) assert.equal(findTenant(tables, `${id}x`), undefined);
      }
      assert.equal(findTenant(tables, "Not-A-Slug"), undefined);
    }),
    { seed: 11, numRuns: 60 },
  );
});

test("FNV-1a matches its reference values", () => {
  assert.equal(fnv1a(""), 0x811c9dc5);
  assert.equal(fnv1a("a"), 0xe40c292c);
  assert.equal(fnv1a("foobar"), 0xbf9cf968);
});
