import assert from "node:assert/strict";
import { test } from "node:test";
import { readCatalogueRows } from "../test/support/catalogue-table.ts";
import { CONFIG_ERRORS, ConfigApplyError, configErrorInfo, problemBody, REQUEST_ERRORS } from "./errors.ts";

test("the README documents every error exactly as the catalogue says, and no others", () => {
  const rows = readCatalogueRows(new URL("./README.md", import.meta.url));
  for (const [code, s] of Object.entries(REQUEST_ERRORS))
    assert.deepEqual(rows.get(code), [String(s.status), String(s.grpc), `\`${s.reason}\``, s.title], code);
  for (const [code, meaning] of Object.entries(CONFIG_ERRORS))
    assert.deepEqual(rows.get(code), [meaning], code);
  for (const code of rows.keys())
    assert.ok(code in REQUEST_ERRORS || code in CONFIG_ERRORS, `${code} is not in errors.ts`);
});

test("codes are CORRAL_DP_*, reasons are unique and label-safe, statuses are errors", () => {
  const reasons = new Set<string>();
  for (const [code, s] of Object.entries(REQUEST_ERRORS)) {
    assert.match(code, /^CORRAL_DP_[A-Z_]+$/);
    assert.match(s.reason, /^[a-z_]{2,30}$/);
    assert.ok(!reasons.has(s.reason), `reason ${s.reason} used twice`);
    reasons.add(s.reason);
    assert.ok(s.status >= 400 && s.status < 600);
    assert.ok(s.grpc > 0 && s.grpc <= 16);
  }
  for (const code of Object.keys(CONFIG_ERRORS)) assert.match(code, /^CORRAL_DP_CONFIG_[A-Z_]+$/);
});

test("problem bodies follow RFC 9457 with the stable code", () => {
  assert.deepEqual(problemBody({ code: "CORRAL_DP_NO_ROUTE", detail: "no route for GET /x" }), {
    type: "urn:corral:error:CORRAL_DP_NO_ROUTE",
    title: REQUEST_ERRORS.CORRAL_DP_NO_ROUTE.title,
    status: 404,
    detail: "no route for GET /x",
    code: "CORRAL_DP_NO_ROUTE",
  });
  assert.equal(problemBody({ code: "CORRAL_DP_SHED" }).detail, REQUEST_ERRORS.CORRAL_DP_SHED.title);
});

test("thrown values become {code, message}; foreign codes do not leak into metrics", () => {
  assert.deepEqual(configErrorInfo(new ConfigApplyError("CORRAL_DP_CONFIG_FETCH", "down")), {
    code: "CORRAL_DP_CONFIG_FETCH",
    message: "down",
  });
  assert.equal(
    configErrorInfo(Object.assign(new Error("x"), { code: "CORRAL_SNAPSHOT_BAD_MAGIC" })).code,
    "CORRAL_SNAPSHOT_BAD_MAGIC",
  );
  assert.equal(
    configErrorInfo(Object.assign(new Error("x"), { code: "ENOENT" })).code,
    "CORRAL_DP_CONFIG_INTERNAL",
  );
  assert.deepEqual(configErrorInfo("boom"), { code: "CORRAL_DP_CONFIG_INTERNAL", message: "boom" });
});
