import assert from "node:assert/strict";
import { test } from "node:test";
import { parseQuotaSpec } from "./quota-spec.ts";

test("LIMIT/PERIOD[@OFFSET], none, and plan where an override may go back to the plan's", () => {
  assert.deepEqual(parseQuotaSpec("1000/month", false), { limit: 1000, period: "month" });
  assert.deepEqual(parseQuotaSpec("5/day@PT2H", false), { limit: 5, period: "day", offset: "PT2H" });
  assert.equal(parseQuotaSpec("none", false), null);
  assert.equal(parseQuotaSpec("plan", true), "plan");
  for (const bad of ["plan", "1000", "1000/year", "-1/day", "1/day@", "1/day@2h", "1e3/day", "1/day@PT2H;x"])
    assert.throws(() => parseQuotaSpec(bad, false), /LIMIT\/PERIOD/, bad);
});
