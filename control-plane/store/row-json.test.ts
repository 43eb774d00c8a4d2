import assert from "node:assert/strict";
import { test } from "node:test";
import { rowJson } from "./row-json.ts";

test("columns become camelCase, timestamps ISO strings, null and other values stay", () => {
  const row = {
    id: "k1",
    tenant_id: "t1",
    last_used_at: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)),
    revoked_at: null as Date | null,
    scopes: ["invoke"],
    shard_size: 2,
  };
  const json = rowJson(row);
  assert.deepEqual(json, {
    id: "k1",
    tenantId: "t1",
    lastUsedAt: "2026-01-02T03:04:05.006Z",
    revokedAt: null,
    scopes: ["invoke"],
    shardSize: 2,
  });
  assert.deepEqual(Object.keys(json), ["id", "tenantId", "lastUsedAt", "revokedAt", "scopes", "shardSize"]);
  const typed: { lastUsedAt: string; revokedAt: string | null } = json;
  assert.equal(typed.lastUsedAt, "2026-01-02T03:04:05.006Z");
});
