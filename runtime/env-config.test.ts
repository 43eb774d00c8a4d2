import assert from "node:assert/strict";
import { test } from "node:test";
import { bool, ConfigError, int, loadConfig, oneOf, port, str, url } from "./env-config.ts";

const schema = {
  CORRAL_HTTP_PORT: { parse: port, default: 7400, doc: "HTTP port" },
  CORRAL_PG_URL: { parse: url(["postgres:", "postgresql:"]), doc: "Postgres URL" },
  CORRAL_FLAG: { parse: bool, default: false, doc: "a flag" },
  CORRAL_N: { parse: int(1, 10), default: 5, doc: "n" },
  CORRAL_MODE: { parse: oneOf(["a", "b"] as const), default: "a" as "a" | "b", doc: "mode" },
  CORRAL_NAME: { parse: str, default: "x", doc: "name" },
};

test("defaults apply and values parse; the result is frozen", () => {
  const c = loadConfig(schema, { CORRAL_PG_URL: "postgres://h/db", CORRAL_FLAG: "yes", CORRAL_N: "7" });
  assert.equal(c.CORRAL_HTTP_PORT, 7400);
  assert.equal(c.CORRAL_FLAG, true);
  assert.equal(c.CORRAL_N, 7);
  assert.ok(Object.isFrozen(c));
});

test("every problem names its variable, unknown CORRAL_* variables are refused", () => {
  try {
    loadConfig(schema, { CORRAL_HTTP_PORT: "99999", CORRAL_N: "abc", CORRAL_MODE: "c", CORRAL_TYPO: "1" });
    assert.fail("expected ConfigError");
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const text = err.problems.join("\n");
    for (const name of ["CORRAL_HTTP_PORT", "CORRAL_PG_URL", "CORRAL_N", "CORRAL_MODE", "CORRAL_TYPO"]) {
      assert.match(text, new RegExp(name));
    }
  }
});

test("url parser checks the scheme", () => {
  assert.throws(() => loadConfig(schema, { CORRAL_PG_URL: "http://x" }), /CORRAL_PG_URL/);
});

test("a malformed URL is reported without echoing the value (it may hold a password)", () => {
  try {
    loadConfig(schema, { CORRAL_PG_URL: "postgres://user:s3cret@[::bad" });
    assert.fail("expected ConfigError");
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.doesNotMatch(err.message, /s3cret/);
    assert.match(err.message, /CORRAL_PG_URL/);
  }
});
