import assert from "node:assert/strict";
import { test } from "node:test";
import { CorralError } from "../errors.ts";
import { decodeCursor, encodeCursor, idempotencyKey, normalizeTargets, pageLimit } from "./validate.ts";

const invalid = (fragment: string) => (err: unknown) =>
  err instanceof CorralError && err.code === "CORRAL_ADMIN_VALIDATION" && err.message.includes(fragment);

test("targets: base URLs are normalised, host:port kept", () => {
  assert.deepEqual(
    normalizeTargets(["http://127.0.0.1:8080/", "https://API.example.com/base/", "svc.local:9000"]),
    ["http://127.0.0.1:8080", "https://api.example.com/base", "svc.local:9000"],
  );
});

test("targets: bad schemes, credentials, queries, ports and duplicates are refused by index", () => {
  const cases: Array<[string[], string]> = [
    [["ftp://x:21"], "body/targets/0 must be an http or https URL"],
    [["http://u:p@x:1"], "credentials"],
    [["http://x:1/?a=b"], "query"],
    [["http://x:1", "x:70000"], "body/targets/1 has a port"],
    [["just-a-host"], "host:port"],
    [["http://x:1/", "http://x:1"], "body/targets/1 repeats"],
  ];
  for (const [targets, fragment] of cases)
    assert.throws(() => normalizeTargets(targets), invalid(fragment), fragment);
});

test("cursors round-trip and foreign cursors are refused", () => {
  const re = /^[a-z0-9][a-z0-9-]{0,62}$/;
  assert.equal(decodeCursor(encodeCursor("acme-1"), re), "acme-1");
  assert.throws(() => decodeCursor(encodeCursor("../etc"), re), invalid("cursor"));
});

test("page limits and idempotency keys are bounded", () => {
  assert.equal(pageLimit(undefined), 50);
  assert.equal(pageLimit("200"), 200);
  assert.throws(() => pageLimit("0"), invalid("limit"));
  assert.throws(() => pageLimit("201"), invalid("limit"));
  assert.equal(idempotencyKey(undefined), undefined);
  assert.equal(idempotencyKey("abc-123"), "abc-123");
  assert.throws(() => idempotencyKey("has space"), invalid("idempotency-key"));
  assert.throws(() => idempotencyKey("x".repeat(256)), invalid("idempotency-key"));
  assert.throws(() => idempotencyKey(["a", "b"]), invalid("idempotency-key"));
});
