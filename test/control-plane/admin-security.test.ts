import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createOperatorToken, revokeOperatorToken } from "../../control-plane/store/operator-tokens.ts";
import { type Harness, startHarness } from "./harness.ts";
import { poll } from "../support/poll.ts";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const PROBLEM = "application/problem+json; charset=utf-8";

async function counts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of ["tenants", "api_keys", "upstreams", "routes", "idempotency_keys"]) {
    const { rows } = await h.cp.pool.query(`SELECT count(*)::int AS n FROM ${table}`);
    out[table] = rows[0].n;
  }
  return out;
}

async function seedTenant(id: string) {
  await h.api("POST", "/admin/v1/tenants", { id, name: id });
  const key = await h.api("POST", `/admin/v1/tenants/${id}/keys`, {});
  const up = await h.api("POST", `/admin/v1/tenants/${id}/upstreams`, {
    name: "main",
    targets: ["http://upstream.example.com:1"],
  });
  const route = await h.api("POST", `/admin/v1/tenants/${id}/routes`, {
    pathPrefix: "/",
    upstreamId: up.body.id,
  });
  return { keyId: key.body.id as string, upstreamId: up.body.id as string, routeId: route.body.id as string };
}

test("bad bodies get 400 problem+json naming the field, and change nothing", async () => {
  await h.api("POST", "/admin/v1/tenants", { id: "valid", name: "Valid" });
  const up = await h.api("POST", "/admin/v1/tenants/valid/upstreams", {
    name: "u",
    targets: ["http://upstream.example.com:1"],
  });
  const before = await counts();
  const cases: Array<[string, string, unknown, RegExp]> = [
    ["POST", "/admin/v1/tenants", { id: "Bad Id", name: "x" }, /body\/id must match pattern/],
    ["POST", "/admin/v1/tenants", { id: "ok", name: "" }, /body\/name must NOT have fewer than 1 characters/],
    ["POST", "/admin/v1/tenants", { id: "ok", name: "x", admin: true }, /additional properties \(admin\)/],
    ["POST", "/admin/v1/tenants", { id: "ok", name: 42 }, /body\/name must be string/],
    [
      "POST",
      "/admin/v1/tenants",
      { id: "ok", name: "x", status: "deleted" },
      /body\/status must be equal to one of/,
    ],
    [
      "POST",
      "/admin/v1/tenants",
      { id: "ok", name: "x", limits: { rate: -1 } },
      /body\/limits\/rate must be >= 0/,
    ],
    ["POST", "/admin/v1/tenants", [], /body must be object/],
    ["PATCH", "/admin/v1/tenants/valid", {}, /must NOT have fewer than 1 properties/],
    ["POST", "/admin/v1/tenants/valid/keys", { scopes: ["root"] }, /scopes\/0 must be equal to one of/],
    ["POST", "/admin/v1/tenants/valid/keys", { scopes: [] }, /scopes must NOT have fewer than 1 items/],
    [
      "POST",
      "/admin/v1/tenants/valid/upstreams",
      { name: "u2", targets: [] },
      /targets must NOT have fewer than 1 items/,
    ],
    [
      "POST",
      "/admin/v1/tenants/valid/upstreams",
      { name: "u2", targets: ["gopher://x:70"] },
      /targets\/0 must be an http/,
    ],
    [
      "POST",
      "/admin/v1/tenants/valid/routes",
      { pathPrefix: "no-slash", upstreamId: up.body.id },
      /pathPrefix must match/,
    ],
    [
      "POST",
      "/admin/v1/tenants/valid/routes",
      { pathPrefix: "/a", upstreamId: up.body.id, methods: ["BREW"] },
      /methods\/0/,
    ],
    [
      "POST",
      "/admin/v1/tenants/valid/routes",
      { pathPrefix: "/a", upstreamId: up.body.id, timeoutMs: 0 },
      /timeoutMs must be >= 1/,
    ],
    [
      "POST",
      "/admin/v1/tenants/valid/routes",
      { pathPrefix: "/a", upstreamId: up.body.id, hosts: ["Bad Host"] },
      /hosts\/0/,
    ],
    [
      "POST",
      "/admin/v1/tenants/valid/routes",
      { pathPrefix: "/a" },
      /must have required property 'upstreamId'/,
    ],
    ["POST", "/admin/v1/tenants/valid/routes", "{not json", /JSON|Unexpected|Expected/],
  ];
  for (const [method, path, body, detail] of cases) {
    const res = await h.api(method, path, body);
    assert.equal(res.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
    assert.equal(res.headers.get("content-type"), PROBLEM);
    assert.match(res.body.code, /^CORRAL_ADMIN_(VALIDATION|MALFORMED_JSON)$/);
    assert.match(res.body.detail, detail, JSON.stringify(res.body));
    assert.equal(res.body.status, 400);
    assert.equal(typeof res.body.title, "string");
    assert.match(res.body.type, /^urn:corral:error:CORRAL_/);
  }
  assert.deepEqual(await counts(), before);
});

test("an oversized body gets 413 and a non-JSON body 415, both problem+json", async () => {
  const before = await counts();
  const big = await h.api("POST", "/admin/v1/tenants", { id: "big", name: "x".repeat(70 * 1024) });
  assert.equal(big.status, 413);
  assert.equal(big.body.code, "CORRAL_ADMIN_PAYLOAD_TOO_LARGE");
  assert.equal(big.headers.get("content-type"), PROBLEM);
  const text = await h.api("POST", "/admin/v1/tenants", "id=x", { "content-type": "text/plain" });
  assert.equal(text.status, 415);
  assert.equal(text.body.code, "CORRAL_ADMIN_UNSUPPORTED_MEDIA_TYPE");
  assert.deepEqual(await counts(), before);
});

test("auth: no token 401, bad token 401, revoked token 401, viewer reads but cannot write (403)", async () => {
  const none = await h.api("GET", "/admin/v1/tenants", undefined, { authorization: "" });
  assert.equal(none.status, 401);
  assert.equal(none.body.code, "CORRAL_ADMIN_UNAUTHENTICATED");
  assert.equal(none.headers.get("content-type"), PROBLEM);
  for (const authorization of [
    "Bearer wrong-token-0123456789",
    `Basic ${h.adminToken}`,
    `Bearer ${h.adminToken}x`,
    "Bearer",
  ]) {
    assert.equal(
      (await h.api("GET", "/admin/v1/tenants", undefined, { authorization })).status,
      401,
      authorization,
    );
  }
  const viewer = await createOperatorToken(h.cp.pool, { name: "auditor", role: "viewer" });
  const asViewer = { authorization: `Bearer ${viewer.token}` };
  assert.equal((await h.api("GET", "/admin/v1/tenants", undefined, asViewer)).status, 200);
  assert.equal((await h.api("GET", "/admin/v1/fleet", undefined, asViewer)).status, 200);
  const before = await counts();
  const write = await h.api("POST", "/admin/v1/tenants", { id: "by-viewer", name: "x" }, asViewer);
  assert.equal(write.status, 403);
  assert.equal(write.body.code, "CORRAL_ADMIN_FORBIDDEN");
  assert.equal((await h.api("DELETE", "/admin/v1/tenants/valid", undefined, asViewer)).status, 403);
  assert.deepEqual(await counts(), before);
  await revokeOperatorToken(h.cp.pool, viewer.id);
  assert.equal((await h.api("GET", "/admin/v1/tenants", undefined, asViewer)).status, 401);
  const stored = await h.cp.pool.query("SELECT hash FROM operator_tokens");
  assert.ok(stored.rows.every((r) => r.hash.length === 32));
  assert.ok(!JSON.stringify(stored.rows).includes(viewer.token));
});

test("tenant isolation: tenant A's paths cannot read or delete tenant B's key, route or upstream", async () => {
  await seedTenant("tenant-a");
  const b = await seedTenant("tenant-b");
  const before = await counts();
  const probes: Array<[string, string]> = [
    ["GET", `/admin/v1/tenants/tenant-a/routes/${b.routeId}`],
    ["GET", `/admin/v1/tenants/tenant-a/upstreams/${b.upstreamId}`],
    ["DELETE", `/admin/v1/tenants/tenant-a/keys/${b.keyId}`],
    ["DELETE", `/admin/v1/tenants/tenant-a/routes/${b.routeId}`],
    ["DELETE", `/admin/v1/tenants/tenant-a/upstreams/${b.upstreamId}`],
  ];
  for (const [method, path] of probes) {
    const res = await h.api(method, path);
    assert.equal(res.status, 404, `${method} ${path}`);
    assert.equal(res.body.code, "CORRAL_ADMIN_NOT_FOUND");
  }
  const lists = await Promise.all(
    ["keys", "routes", "upstreams"].map((k) => h.api("GET", `/admin/v1/tenants/tenant-a/${k}`)),
  );
  for (const list of lists) assert.ok(!JSON.stringify(list.body).includes("tenant-b"));
  const crossRoute = await h.api("POST", "/admin/v1/tenants/tenant-a/routes", {
    pathPrefix: "/steal",
    upstreamId: b.upstreamId,
  });
  assert.equal(crossRoute.status, 400);
  assert.deepEqual(await counts(), before);
  const key = await h.cp.pool.query("SELECT revoked_at FROM api_keys WHERE id = $1", [b.keyId]);
  assert.equal(key.rows[0].revoked_at, null);
});

test("idempotency: a retry gets the first response; the same key with another request is 422", async () => {
  const headers = { "idempotency-key": "create-idem-1" };
  const first = await h.api("POST", "/admin/v1/tenants", { id: "idem", name: "Idem" }, headers);
  assert.equal(first.status, 201);
  assert.equal(first.headers.get("idempotent-replayed"), null);
  const retry = await h.api("POST", "/admin/v1/tenants", { name: "Idem", id: "idem" }, headers);
  assert.equal(retry.status, 201);
  assert.equal(retry.headers.get("idempotent-replayed"), "true");
  assert.deepEqual(retry.body, first.body);

  const other = await h.api("POST", "/admin/v1/tenants", { id: "idem2", name: "Other" }, headers);
  assert.equal(other.status, 422);
  assert.equal(other.body.code, "CORRAL_ADMIN_IDEMPOTENCY_MISMATCH");
  assert.equal((await h.api("GET", "/admin/v1/tenants/idem2")).status, 404);
  const otherPath = await h.api("PATCH", "/admin/v1/tenants/idem", { name: "Idem" }, headers);
  assert.equal(otherPath.status, 422);

  const del = { "idempotency-key": "delete-idem" };
  assert.equal((await h.api("DELETE", "/admin/v1/tenants/idem", undefined, del)).status, 204);
  const delRetry = await h.api("DELETE", "/admin/v1/tenants/idem", undefined, del);
  assert.equal(delRetry.status, 204);
  assert.equal(delRetry.headers.get("idempotent-replayed"), "true");
});

test("idempotency: a failed change stores nothing, an issued key is not replayed in clear, expiry frees the key", async () => {
  await h.api("POST", "/admin/v1/tenants", { id: "idem-keys", name: "K" });
  const failing = await h.api(
    "POST",
    "/admin/v1/tenants",
    { id: "idem-keys", name: "K" },
    { "idempotency-key": "k-fail" },
  );
  assert.equal(failing.status, 409);
  const stored = await h.cp.pool.query("SELECT 1 FROM idempotency_keys WHERE key = 'k-fail'");
  assert.equal(stored.rowCount, 0);

  const headers = { "idempotency-key": "issue-key-1" };
  const issued = await h.api("POST", "/admin/v1/tenants/idem-keys/keys", { name: "ci" }, headers);
  assert.ok(issued.body.key);
  const replay = await h.api("POST", "/admin/v1/tenants/idem-keys/keys", { name: "ci" }, headers);
  assert.equal(replay.status, 201);
  assert.equal(replay.body.id, issued.body.id);
  assert.equal(replay.body.key, undefined);
  const rows = await h.cp.pool.query(
    "SELECT response_body::text AS body FROM idempotency_keys WHERE key = 'issue-key-1'",
  );
  assert.ok(!rows.rows[0].body.includes(issued.body.key), "the key is never stored");
  assert.equal((await h.api("GET", "/admin/v1/tenants/idem-keys/keys")).body.items.length, 1);

  await h.cp.pool.query(
    "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = 'issue-key-1'",
  );
  const fresh = await h.api("POST", "/admin/v1/tenants/idem-keys/keys", { name: "other" }, headers);
  assert.equal(fresh.status, 201);
  assert.notEqual(fresh.body.id, issued.body.id);
  const bad = await h.api("POST", "/admin/v1/tenants/idem-keys/keys", {}, { "idempotency-key": "has space" });
  assert.equal(bad.status, 400);
});

test("idempotency: expired rows are purged (at start, then hourly); unexpired ones stay", async () => {
  for (const id of ["purge-old", "purge-new"])
    await h.api("POST", "/admin/v1/tenants", { id, name: id }, { "idempotency-key": id });
  await h.cp.pool.query(
    "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = 'purge-old'",
  );
  await h.restart();
  const keys = async () =>
    (await h.cp.pool.query("SELECT key FROM idempotency_keys WHERE key LIKE 'purge-%'")).rows.map(
      (r) => r.key,
    );
  await poll("one key left after the purge", async () => (await keys()).length === 1, 10_000);
  assert.deepEqual(await keys(), ["purge-new"]);
});

test("idempotency: a key still in flight gets 409", async () => {
  const holder = await h.cp.pool.connect();
  const { rows } = await holder.query("SELECT id FROM operator_tokens WHERE kind = 'bootstrap'");
  try {
    await holder.query("SELECT pg_advisory_lock($1, hashtext($2 || E'\\n' || $3))", [
      0x49646d70,
      `admin:${rows[0].id}`,
      "busy-key",
    ]);
    const res = await h.api(
      "POST",
      "/admin/v1/tenants",
      { id: "busy", name: "Busy" },
      { "idempotency-key": "busy-key" },
    );
    assert.equal(res.status, 409);
    assert.equal(res.body.code, "CORRAL_ADMIN_IDEMPOTENCY_IN_FLIGHT");
    assert.equal((await h.api("GET", "/admin/v1/tenants/busy")).status, 404);
  } finally {
    await holder.query("SELECT pg_advisory_unlock_all()");
    holder.release();
  }
});

test("the OpenAPI document describes every admin route with the schemas that validate it", async () => {
  const res = await h.api("GET", "/admin/v1/openapi.json", undefined, { authorization: "" });
  assert.equal(res.status, 200);
  const doc = res.body;
  assert.equal(doc.openapi, "3.1.0");
  const expected = [
    "post /admin/v1/tenants",
    "get /admin/v1/tenants",
    "get /admin/v1/tenants/{tenantId}",
    "patch /admin/v1/tenants/{tenantId}",
    "delete /admin/v1/tenants/{tenantId}",
    "post /admin/v1/tenants/{tenantId}/keys",
    "get /admin/v1/tenants/{tenantId}/keys",
    "delete /admin/v1/tenants/{tenantId}/keys/{keyId}",
    "post /admin/v1/tenants/{tenantId}/upstreams",
    "get /admin/v1/tenants/{tenantId}/upstreams",
    "delete /admin/v1/tenants/{tenantId}/upstreams/{upstreamId}",
    "post /admin/v1/tenants/{tenantId}/routes",
    "get /admin/v1/tenants/{tenantId}/routes",
    "delete /admin/v1/tenants/{tenantId}/routes/{routeId}",
    "get /admin/v1/fleet",
    "get /admin/v1/config/versions",
    "post /admin/v1/operator-tokens",
    "get /admin/v1/operator-tokens",
    "delete /admin/v1/operator-tokens/{tokenId}",
  ];
  const present = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops as object).map((m) => `${m} ${path}`),
  );
  for (const op of expected) assert.ok(present.includes(op), op);
  const create = doc.paths["/admin/v1/tenants"].post;
  assert.equal(create.requestBody.content["application/json"].schema.additionalProperties, false);
  assert.ok(create.responses["201"]);
  assert.equal(
    create.responses.default.content["application/problem+json"].schema.$ref,
    "#/components/schemas/Problem",
  );
  assert.deepEqual(create.security, [{ operatorToken: [] }]);
  const ids = present.map((p) => p);
  assert.equal(new Set(ids).size, ids.length);
  const opIds = Object.values(doc.paths).flatMap((ops) =>
    Object.values(ops as object).map((o) => o.operationId),
  );
  assert.equal(new Set(opIds).size, opIds.length, "operation ids are unique");
});

test("logs: one line per request, and no token or key ever appears in them", async () => {
  await h.api("POST", "/admin/v1/tenants", { id: "logged", name: "Logged" });
  const issued = await h.api("POST", "/admin/v1/tenants/logged/keys", {});
  await h.api("GET", "/admin/v1/tenants", undefined, { authorization: "Bearer not-a-real-token-123" });
  const text = h.logs.join("\n");
  assert.ok(!text.includes(h.adminToken));
  assert.ok(!text.includes(issued.body.key));
  assert.ok(!text.includes("not-a-real-token-123"));
  const requestLines = h.logs
    .map((l) => JSON.parse(l))
    .filter((l) => l.msg === "request" && l.url === "/admin/v1/tenants/logged/keys");
  assert.equal(requestLines.length, 1);
  assert.equal(requestLines[0].status, 201);
});
