import assert from "node:assert/strict";
import { test } from "node:test";
import { readCatalogueRows } from "../test/support/catalogue-table.ts";
import { LOADTEST_ERRORS, LoadtestError } from "./errors.ts";

test("errors.md documents exactly the catalogue, row for row", () => {
  const rows = readCatalogueRows(new URL("./errors.md", import.meta.url));
  assert.deepEqual([...rows.keys()].sort(), Object.keys(LOADTEST_ERRORS).sort());
  for (const [code, meaning] of Object.entries(LOADTEST_ERRORS))
    assert.deepEqual(rows.get(code), [meaning], code);
});

test("codes are CORRAL_LOADTEST_*; a LoadtestError's message is the meaning, then the detail", () => {
  for (const code of Object.keys(LOADTEST_ERRORS)) assert.match(code, /^CORRAL_LOADTEST_[A-Z_]+$/);
  const err = new LoadtestError("CORRAL_LOADTEST_BAD_PLAN", "rate must be positive");
  assert.equal(err.code, "CORRAL_LOADTEST_BAD_PLAN");
  assert.equal(err.message, `${LOADTEST_ERRORS.CORRAL_LOADTEST_BAD_PLAN}: rate must be positive`);
});
