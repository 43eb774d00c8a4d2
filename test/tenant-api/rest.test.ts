/**
 * The tenant API over REST under /v1 against a real control plane and Postgres: authentication,
 * tenant isolation, idempotency (shared with gRPC), bounded and validated input, problem+json
 * errors, publication, the OpenAPI document and log hygiene.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { call, changeCounter, configRows, startWorld, type World } from "./support.ts";
import { poll } from "../support/poll.ts";

let w: World;
before(async () => {
  w = await startWorld();
});
after(() => w.close());

const PROBLEM = "application/problem+json; charset=utf-8";
const target = { targets: ["http://127.0.0.1:9"] };

async function upstream(key: string, name: string) {
  const res = await w.rest(key, "POST", "/v1/upstreams", { name, ...target });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

async function route(key: string, upstreamId: string, pathPrefix: string) {
  const res = await w.rest(key, "POST", "/v1/routes", { pathPrefix, upstreamId });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

describe("authentication", () => {
  test("a manage key creates an upstream and a route and sees them", async () => {
    const key = w.alpha.manage;
    const tenant = await w.rest(key, "GET", "/v1/tenant");
    assert.equal(tenant.status, 200);
    assert.equal(tenant.body.id, "alpha");
    const up = await upstream(key, "orders");
    assert.equal(up.tenantId, "alpha");
    assert.equal(up.connectTimeoutMs, 5000);
    const rt = await route(key, up.id, "/orders");
    assert.deepEqual(
      { timeoutMs: rt.timeoutMs, protocol: rt.protocol, hosts: rt.hosts, limits: rt.limits },
      { timeoutMs: 15_000, protocol: "http", hosts: [], limits: null },
    );
    const list = await w.rest(undefined, "GET", "/v1/routes", undefined, { authorization: `Bearer ${key}` });
    assert.equal(list.status, 200);
    assert.ok(list.body.items.some((r: { id: string }) => r.id === rt.id));
    assert.deepEqual((await w.rest(key, "GET", `/v1/routes/${rt.id}`)).body, rt);
    assert.deepEqual((await w.rest(key, "GET", `/v1/upstreams/${up.id}`)).body, up);
    const ups = await w.rest(key, "GET", "/v1/upstreams");
    assert.ok(ups.body.items.some((u: { id: string }) => u.id === up.id));
    // gRPC sees the same rows
    const viaGrpc = await call(w.grpc, (x) => x.getRoute, { id: rt.id }, { key });
    assert.equal(viaGrpc.response.route!.pathPrefix, "/orders");
  });

  test("invoke-only 403, unknown/missing/operator credentials 401, as problem+json", async () => {
    const forbidden = await w.rest(w.alpha.invoke, "GET", "/v1/routes");
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.code, "CORRAL_TENANT_FORBIDDEN");
    assert.equal(forbidden.headers.get("content-type"), PROBLEM);
    const forged = `${w.alpha.manage.slice(0, -4)}AAAA`;
    for (const key of [forged, "nonsense", undefined]) {
      const res = await w.rest(key, "POST", "/v1/upstreams", { name: "nope", ...target });
      assert.equal(res.status, 401, String(key));
      assert.equal(res.body.code, "CORRAL_TENANT_UNAUTHENTICATED");
    }
    // an operator token is not a tenant key
    const operator = await w.h.api("GET", "/v1/tenant");
    assert.equal(operator.status, 401);
    assert.equal((await configRows(w.h, "alpha")).upstreams, 1);
  });

  test("a key revoked through the tenant API stops working at once", async () => {
    const issued = await w.rest(w.alpha.manage, "POST", "/v1/keys", {
      name: "short-lived",
      scopes: ["manage"],
    });
    assert.equal(issued.status, 201);
    assert.match(issued.body.key, /^crl_/);
    assert.equal((await w.rest(issued.body.key, "GET", "/v1/tenant")).status, 200);
    assert.equal((await w.rest(w.alpha.manage, "DELETE", `/v1/keys/${issued.body.id}`)).status, 204);
    assert.equal((await w.rest(issued.body.key, "GET", "/v1/tenant")).status, 401);
    const keys = await w.rest(w.alpha.manage, "GET", "/v1/keys");
    const listed = keys.body.items.find((k: { id: string }) => k.id === issued.body.id);
    assert.ok(listed.revokedAt);
    assert.equal(listed.key, undefined);
  });
});

describe("isolation", () => {
  test("tenant alpha can read, change or delete nothing of beta's, and lists never show beta's rows", async () => {
    const up = await upstream(w.beta.manage, "beta-svc");
    const rt = await route(w.beta.manage, up.id, "/beta");
    const betaKeys = (await w.rest(w.beta.manage, "GET", "/v1/keys")).body.items as Array<{ id: string }>;
    const before = await configRows(w.h, "beta");
    const key = w.alpha.manage;
    const attempts: Array<[string, string]> = [
      ["GET", `/v1/routes/${rt.id}`],
      ["DELETE", `/v1/routes/${rt.id}`],
      ["GET", `/v1/upstreams/${up.id}`],
      ["DELETE", `/v1/upstreams/${up.id}`],
      ...betaKeys.map((k): [string, string] => ["DELETE", `/v1/keys/${k.id}`]),
    ];
    for (const [method, path] of attempts) {
      const res = await w.rest(key, method, path);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.code, "CORRAL_TENANT_NOT_FOUND");
    }
    const steal = await w.rest(key, "POST", "/v1/routes", { pathPrefix: "/steal", upstreamId: up.id });
    assert.equal(steal.status, 400);
    // a tenant id in the body is refused, not obeyed
    const smuggled = await w.rest(key, "POST", "/v1/upstreams", { name: "x", tenantId: "beta", ...target });
    assert.equal(smuggled.status, 400);
    const lists = await Promise.all(
      ["/v1/routes", "/v1/upstreams", "/v1/keys"].map((p) => w.rest(key, "GET", p)),
    );
    for (const list of lists) {
      for (const item of list.body.items) assert.equal(item.tenantId, "alpha");
    }
    assert.deepEqual(await configRows(w.h, "beta"), before);
  });
});

describe("idempotency", () => {
  test("replay, mismatch (422) and in-flight (409); the token is shared with gRPC", async () => {
    const key = w.alpha.manage;
    const body = { name: "idem-rest", ...target };
    const first = await w.rest(key, "POST", "/v1/upstreams", body, { "idempotency-key": "rest-1" });
    assert.equal(first.status, 201);
    const counter = await changeCounter(w.h);
    const retry = await w.rest(key, "POST", "/v1/upstreams", body, { "idempotency-key": "rest-1" });
    assert.equal(retry.status, 201);
    assert.equal(retry.headers.get("idempotent-replayed"), "true");
    assert.deepEqual(retry.body, first.body);
    // the same request over gRPC with the same token is the same call
    const viaGrpc = await call(
      w.grpc,
      (x) => x.createUpstream,
      {
        clientToken: "rest-1",
        ...body,
        weights: [],
        healthCheck: undefined,
        outlier: undefined,
        retryBudget: undefined,
      },
      { key },
    );
    assert.equal(viaGrpc.response.upstream!.id, first.body.id);
    assert.deepEqual(viaGrpc.headers.get("idempotent-replayed"), ["true"]);
    assert.equal(await changeCounter(w.h), counter);
    const mismatch = await w.rest(
      key,
      "POST",
      "/v1/upstreams",
      { name: "other", ...target },
      { "idempotency-key": "rest-1" },
    );
    assert.equal(mismatch.status, 422);
    assert.equal(mismatch.body.code, "CORRAL_TENANT_IDEMPOTENCY_MISMATCH");
    const badKey = await w.rest(key, "POST", "/v1/upstreams", body, { "idempotency-key": "has space" });
    assert.equal(badKey.status, 400);
    assert.equal(badKey.body.code, "CORRAL_TENANT_VALIDATION");

    const holder = await w.h.cp.pool.connect();
    try {
      await holder.query("SELECT pg_advisory_lock($1, hashtext($2 || E'\\n' || $3))", [
        0x49646d70,
        "tenant:alpha",
        "rest-busy",
      ]);
      const busy = await w.rest(key, "DELETE", `/v1/upstreams/${first.body.id}`, undefined, {
        "idempotency-key": "rest-busy",
      });
      assert.equal(busy.status, 409);
      assert.equal(busy.body.code, "CORRAL_TENANT_IDEMPOTENCY_IN_FLIGHT");
      assert.equal((await w.rest(key, "GET", `/v1/upstreams/${first.body.id}`)).status, 200);
    } finally {
      await holder.query("SELECT pg_advisory_unlock_all()");
      holder.release();
    }
  });

  test("an issued key is not replayed in clear", async () => {
    const headers = { "idempotency-key": "rest-key" };
    const first = await w.rest(w.alpha.manage, "POST", "/v1/keys", {}, headers);
    assert.match(first.body.key, /^crl_/);
    assert.deepEqual(first.body.scopes, ["invoke"]);
    const replay = await w.rest(w.alpha.manage, "POST", "/v1/keys", {}, headers);
    assert.equal(replay.status, 201);
    assert.equal(replay.body.key, undefined);
    assert.equal(replay.body.id, first.body.id);
  });
});

describe("bad input", () => {
  test("bad fields, bad JSON, wrong media type and oversized bodies change nothing", async () => {
    const key = w.alpha.manage;
    const before = await configRows(w.h, "alpha");
    const counter = await changeCounter(w.h);
    const bad: Array<[unknown, number, string, string?]> = [
      [{ name: "x", targets: ["ftp://x:1"] }, 400, "CORRAL_TENANT_VALIDATION", "body/targets/0"],
      [{ name: "x", targets: [] }, 400, "CORRAL_TENANT_VALIDATION", "body/targets"],
      [{ name: "x" }, 400, "CORRAL_TENANT_VALIDATION"],
      ["{not json", 400, "CORRAL_TENANT_MALFORMED_JSON"],
      [{ name: "big", targets: ["a:1"], pad: "x".repeat(70 * 1024) }, 413, "CORRAL_TENANT_PAYLOAD_TOO_LARGE"],
    ];
    for (const [body, statusCode, code, path] of bad) {
      const res = await w.rest(key, "POST", "/v1/upstreams", body);
      assert.equal(res.status, statusCode, code);
      assert.equal(res.body.code, code);
      if (path)
        assert.ok(
          res.body.errors.some((e: { path: string }) => e.path === path),
          JSON.stringify(res.body),
        );
    }
    const text = await fetch(`${w.h.cp.url}/v1/upstreams`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "text/plain" },
      body: "name=x",
    });
    assert.equal(text.status, 415);
    assert.equal(((await text.json()) as { code: string }).code, "CORRAL_TENANT_UNSUPPORTED_MEDIA_TYPE");
    const badId = await w.rest(key, "DELETE", "/v1/routes/not-an-id");
    assert.equal(badId.status, 400);
    const unknown = await w.rest(key, "GET", "/v1/nothing-here");
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, "CORRAL_TENANT_NOT_FOUND");
    assert.deepEqual(await configRows(w.h, "alpha"), before);
    assert.equal(await changeCounter(w.h), counter);
  });
});

describe("publication and documents", () => {
  test("a change through the tenant API is published as a new config version", async () => {
    const newest = async () =>
      (await w.h.api("GET", "/admin/v1/config/versions?limit=1")).body.items[0]?.version ?? 0;
    const before = await poll("a first published version", async () => (await newest()) || false);
    await upstream(w.alpha.manage, "published");
    const after = await poll("a version newer than the one before", async () => {
      const v = await newest();
      return v > before && v;
    });
    assert.ok(after > before);
  });

  test("GET /v1/placement answers the shard the admin API reports, without the seed fingerprint", async () => {
    const res = await w.rest(w.alpha.manage, "GET", "/v1/placement");
    assert.equal(res.status, 200);
    const { tenant, seedFingerprint, ...admin } = (await w.h.api("GET", "/admin/v1/tenants/alpha/placement"))
      .body;
    assert.equal(tenant, "alpha");
    assert.ok(seedFingerprint);
    assert.deepEqual(res.body, admin);
    assert.equal(res.body.configuredK, 3);
  });

  test("/v1/openapi.json is public and describes every tenant route with its schemas", async () => {
    const res = await w.rest(undefined, "GET", "/v1/openapi.json");
    assert.equal(res.status, 200);
    const doc = res.body;
    assert.equal(doc.info.title, "Corral tenant API");
    assert.ok(doc.components.securitySchemes.tenantApiKey);
    const ops = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, byMethod]) => Object.keys(byMethod).map((m) => `${m} ${path}`),
    );
    assert.deepEqual(ops.sort(), [
      "delete /v1/keys/{id}",
      "delete /v1/routes/{id}",
      "delete /v1/upstreams/{id}",
      "get /v1/keys",
      "get /v1/placement",
      "get /v1/routes",
      "get /v1/routes/{id}",
      "get /v1/tenant",
      "get /v1/upstreams",
      "get /v1/upstreams/{id}",
      "get /v1/usage",
      "patch /v1/routes/{id}",
      "patch /v1/upstreams/{id}",
      "post /v1/keys",
      "post /v1/routes",
      "post /v1/upstreams",
    ]);
    const post = doc.paths["/v1/routes"].post;
    assert.equal(post["x-corral-scope"], "manage");
    assert.deepEqual(post.security, [{ tenantApiKey: [] }]);
    assert.ok(post.parameters.some((p: { name: string }) => p.name === "Idempotency-Key"));
    assert.equal(post.requestBody.content["application/json"].schema.properties.pathPrefix.type, "string");
  });

  test("one log line per request names the tenant; no key ever appears in the logs", async () => {
    await w.rest(w.alpha.manage, "GET", "/v1/tenant");
    await call(w.grpc, (x) => x.getTenant, {}, { key: w.alpha.manage });
    const lines = w.h.logs.map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.msg === "request" && l.route === "/v1/tenant" && l.tenant === "alpha"));
    assert.ok(
      lines.some(
        (l) => l.msg === "grpc call" && l.rpc === "GetTenant" && l.code === "OK" && l.tenant === "alpha",
      ),
    );
    const all = w.h.logs.join("\n");
    for (const key of [w.alpha.manage, w.alpha.invoke, w.beta.manage, w.beta.invoke]) {
      assert.ok(!all.includes(key));
      assert.ok(!all.includes(key.slice(17)), "not even the secret part");
    }
  });
});
