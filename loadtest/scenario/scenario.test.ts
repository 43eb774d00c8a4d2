import assert from "node:assert/strict";
import { test } from "node:test";
import { applyOverrides, parseArgs } from "./params.ts";
import { checkThresholds } from "./thresholds.ts";

test("command-line overrides take the type of the default", () => {
  const defaults = { rate: 100, label: "a", stall: false };
  assert.deepEqual(applyOverrides(defaults, { rate: "250.5", label: "b", stall: true }), {
    rate: 250.5,
    label: "b",
    stall: true,
  });
  assert.deepEqual(applyOverrides(defaults, { stall: "false" }), defaults);
  assert.throws(
    () => applyOverrides(defaults, { rat: "1" }),
    /unknown parameter --rat; known: --rate, --label, --stall/,
  );
  assert.throws(() => applyOverrides(defaults, { rate: "fast" }), { code: "CORRAL_LOADTEST_BAD_PARAM" });
  assert.throws(() => applyOverrides(defaults, { rate: "" }), { code: "CORRAL_LOADTEST_BAD_PARAM" });
  assert.throws(() => applyOverrides(defaults, { rate: true }), /needs a value/);
  assert.throws(() => applyOverrides(defaults, { stall: "maybe" }), /true or false/);
});

test("argv splits into positionals and options", () => {
  assert.deepEqual(parseArgs(["self-check", "--rate=5", "--verbose", "--x=a=b"]), {
    positional: ["self-check"],
    options: { rate: "5", verbose: true, x: "a=b" },
  });
});

test("thresholds: max, min, parameter-dependent limits, and missing metrics miss", () => {
  const results = checkThresholds(
    [
      { metric: "p99_ms", description: "tail", max: 50 },
      { metric: "ok_rps", description: "rate", min: (p: { rate: number }) => p.rate * 0.98 },
      { metric: "absent", description: "must exist", max: 1 },
      { metric: "nan", description: "not a number", min: 0 },
    ],
    { p99_ms: 51, ok_rps: 99, nan: Number.NaN },
    { rate: 100 },
  );
  assert.deepEqual(
    results.map((r) => [r.metric, r.op, r.limit, r.value, r.pass]),
    [
      ["p99_ms", "<=", 50, 51, false],
      ["ok_rps", ">=", 98, 99, true],
      ["absent", "<=", 1, null, false],
      ["nan", ">=", 0, null, false],
    ],
  );
});
