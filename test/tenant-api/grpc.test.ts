/**
 * The tenant API over gRPC with the generated grpc-js client against a real control plane and
 * Postgres: authentication, tenant isolation, idempotency, bounded and validated input, deadlines,
 * and publication of changes.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import type { CreateUpstreamRequest, TenantServiceClient } from "../../proto/gen/corral/tenant/v1/tenant.ts";

import {
  call,
  callError,
  changeCounter,
  configRows,
  corralCode,
  problemOf,
  startWorld,
  type World,
} from "./support.ts";
import { poll } from "../support/poll.ts";

let w: World;
before(async () => {
  w = await startWorld();
});
after(() => w.close());

const c = (client: TenantServiceClient) => client;
/** No weights, health check or outlier settings: the defaults. */
const NO_POLICY = { weights: [], healthCheck: undefined, outlier: undefined, retryBudget: undefined };

const upstreamReq = (name: string, clientToken = "") => ({
  clientToken,
  name,
  targets: ["http://127.0.0.1:9"],
  ...NO_POLICY,
});

async function createUpstream(key: string, name: string) {
  return (await call(w.grpc, (x) => c(x).createUpstream, upstreamReq(name), { key })).response.upstream!;
}

async function createRoute(key: string, upstreamId: string, pathPrefix: string, clientToken = "") {
  const req = {
    clientToken,
    pathPrefix,
    hosts: [],
    methods: [],
    upstreamId,
    limits: undefined,
    retries: undefined,
    clientLimits: undefined,
  };
  return (await call(w.grpc, (x) => c(x).createRoute, req, { key })).response.route!;
}

describe("authentication", () => {
  test("a manage key creates an upstream and a route and sees them; defaults as in REST", async () => {
    const key = w.alpha.manage;
    const tenant = (await call(w.grpc, (x) => c(x).getTenant, {}, { key })).response.tenant!;
    assert.equal(tenant.id, "alpha");
    assert.equal(tenant.status, "active");
    const up = await createUpstream(key, "orders");
    assert.match(up.id, /^up_[0-9a-f]{16}$/);
    assert.deepEqual(up.targets, ["http://127.0.0.1:9"]);
    assert.equal(up.connectTimeoutMs, 5000);
    const route = await createRoute(key, up.id, "/orders");
    assert.equal(route.timeoutMs, 15_000);
    assert.equal(route.protocol, "http");
    assert.equal(route.stripPrefix, false);
    assert.equal(route.limits, undefined);
    const routes = (await call(w.grpc, (x) => c(x).listRoutes, {}, { key, bearer: true })).response.routes;
    assert.ok(routes.some((r) => r.id === route.id && r.upstreamId === up.id));
    const ups = (await call(w.grpc, (x) => c(x).listUpstreams, {}, { key })).response.upstreams;
    assert.ok(ups.some((u) => u.id === up.id));
    const got = (await call(w.grpc, (x) => c(x).getRoute, { id: route.id }, { key })).response.route;
    assert.deepEqual(got, route);
    // the admin API sees the same rows in the same tenant
    const admin = await w.h.api("GET", `/admin/v1/tenants/alpha/routes/${route.id}`);
    assert.equal(admin.status, 200);
    assert.equal(admin.body.createdAt, route.createdAt);
  });

  test("an invoke-only key is PERMISSION_DENIED, unknown, malformed, missing and revoked keys UNAUTHENTICATED", async () => {
    const denied = await callError(call(w.grpc, (x) => c(x).listRoutes, {}, { key: w.alpha.invoke }));
    assert.equal(denied.code, status.PERMISSION_DENIED);
    assert.equal(corralCode(denied), "CORRAL_TENANT_FORBIDDEN");
    const forged = `${w.alpha.manage.slice(0, -4)}AAAA`;
    for (const key of [forged, "crl_000000000000_" + "A".repeat(43), "not-a-key", undefined]) {
      const err = await callError(call(w.grpc, (x) => c(x).listRoutes, {}, { key }));
      assert.equal(err.code, status.UNAUTHENTICATED, String(key));
      assert.equal(corralCode(err), "CORRAL_TENANT_UNAUTHENTICATED");
    }
    const spare = (
      await call(
        w.grpc,
        (x) => c(x).createKey,
        { clientToken: "", name: "spare", scopes: ["manage"] },
        { key: w.alpha.manage },
      )
    ).response;
    assert.match(spare.key, /^crl_/);
    assert.deepEqual(spare.info!.scopes, ["manage"]);
    assert.equal(
      (await call(w.grpc, (x) => c(x).getTenant, {}, { key: spare.key })).response.tenant!.id,
      "alpha",
    );
    await call(
      w.grpc,
      (x) => c(x).revokeKey,
      { clientToken: "", id: spare.info!.id },
      { key: w.alpha.manage },
    );
    const revoked = await callError(call(w.grpc, (x) => c(x).getTenant, {}, { key: spare.key }));
    assert.equal(revoked.code, status.UNAUTHENTICATED);
    const keys = (await call(w.grpc, (x) => c(x).listKeys, {}, { key: w.alpha.manage })).response.keys;
    assert.ok(keys.find((k) => k.id === spare.info!.id)?.revokedAt);
  });

  test("a suspended tenant's manage key is PERMISSION_DENIED until it is active again", async () => {
    const keys = await import("./support.ts").then((m) => m.makeTenant(w.h, "gamma"));
    assert.equal((await w.h.api("PATCH", "/admin/v1/tenants/gamma", { status: "suspended" })).status, 200);
    const err = await callError(call(w.grpc, (x) => c(x).getTenant, {}, { key: keys.manage }));
    assert.equal(err.code, status.PERMISSION_DENIED);
    assert.equal(corralCode(err), "CORRAL_TENANT_SUSPENDED");
    assert.equal((await w.h.api("PATCH", "/admin/v1/tenants/gamma", { status: "active" })).status, 200);
    assert.equal(
      (await call(w.grpc, (x) => c(x).getTenant, {}, { key: keys.manage })).response.tenant!.id,
      "gamma",
    );
  });
});

describe("isolation", () => {
  test("tenant alpha can read, change or delete nothing of beta's, and lists never show beta's rows", async () => {
    const betaUp = await createUpstream(w.beta.manage, "beta-svc");
    const betaRoute = await createRoute(w.beta.manage, betaUp.id, "/beta");
    const betaKeys = (await call(w.grpc, (x) => c(x).listKeys, {}, { key: w.beta.manage })).response.keys;
    const before = await configRows(w.h, "beta");
    const key = w.alpha.manage;
    const notFound = [
      () => call(w.grpc, (x) => c(x).getRoute, { id: betaRoute.id }, { key }),
      () => call(w.grpc, (x) => c(x).getUpstream, { id: betaUp.id }, { key }),
      () => call(w.grpc, (x) => c(x).deleteRoute, { clientToken: "", id: betaRoute.id }, { key }),
      () => call(w.grpc, (x) => c(x).deleteUpstream, { clientToken: "", id: betaUp.id }, { key }),
      ...betaKeys.map(
        (k) => () => call(w.grpc, (x) => c(x).revokeKey, { clientToken: "", id: k.id }, { key }),
      ),
    ];
    for (const attempt of notFound) {
      const err = await callError(attempt());
      assert.equal(err.code, status.NOT_FOUND);
      assert.equal(corralCode(err), "CORRAL_TENANT_NOT_FOUND");
    }
    // a route in alpha cannot point at beta's upstream
    const crossRef = await callError(createRoute(key, betaUp.id, "/steal"));
    assert.equal(crossRef.code, status.INVALID_ARGUMENT);
    const routes = (await call(w.grpc, (x) => c(x).listRoutes, {}, { key })).response.routes;
    const ups = (await call(w.grpc, (x) => c(x).listUpstreams, {}, { key })).response.upstreams;
    const keys = (await call(w.grpc, (x) => c(x).listKeys, {}, { key })).response.keys;
    assert.ok(!routes.some((r) => r.id === betaRoute.id || r.pathPrefix === "/beta"));
    assert.ok(!ups.some((u) => u.id === betaUp.id));
    assert.ok(!keys.some((k) => betaKeys.some((b) => b.id === k.id)));
    assert.deepEqual(await configRows(w.h, "beta"), before);
    const betaSees = (await call(w.grpc, (x) => c(x).getRoute, { id: betaRoute.id }, { key: w.beta.manage }))
      .response;
    assert.equal(betaSees.route!.id, betaRoute.id);
  });

  test("the same client token in two tenants makes two independent changes", async () => {
    const a = await call(w.grpc, (x) => c(x).createUpstream, upstreamReq("shared-token", "tok-1"), {
      key: w.alpha.manage,
    });
    const b = await call(w.grpc, (x) => c(x).createUpstream, upstreamReq("shared-token", "tok-1"), {
      key: w.beta.manage,
    });
    assert.notEqual(a.response.upstream!.id, b.response.upstream!.id);
    assert.equal(b.headers.get("idempotent-replayed").length, 0);
  });
});

describe("idempotency", () => {
  test("a retry gets the first response, the same token with another request INVALID_ARGUMENT", async () => {
    const key = w.alpha.manage;
    const first = await call(w.grpc, (x) => c(x).createUpstream, upstreamReq("idem", "idem-1"), { key });
    const counter = await changeCounter(w.h);
    const retry = await call(w.grpc, (x) => c(x).createUpstream, upstreamReq("idem", "idem-1"), { key });
    assert.deepEqual(retry.response, first.response);
    assert.deepEqual(retry.headers.get("idempotent-replayed"), ["true"]);
    assert.equal(await changeCounter(w.h), counter, "a replay changes nothing");
    const other = await callError(
      call(w.grpc, (x) => c(x).createUpstream, upstreamReq("idem-other", "idem-1"), { key }),
    );
    assert.equal(other.code, status.INVALID_ARGUMENT);
    assert.equal(corralCode(other), "CORRAL_TENANT_IDEMPOTENCY_MISMATCH");
    // the token belongs to the tenant, not to one operation
    const del = await callError(
      call(
        w.grpc,
        (x) => c(x).deleteUpstream,
        { clientToken: "idem-1", id: first.response.upstream!.id },
        { key },
      ),
    );
    assert.equal(corralCode(del), "CORRAL_TENANT_IDEMPOTENCY_MISMATCH");
    const names = (await call(w.grpc, (x) => c(x).listUpstreams, {}, { key })).response.upstreams.map(
      (u) => u.name,
    );
    assert.equal(names.filter((n) => n === "idem").length, 1);
    assert.ok(!names.includes("idem-other"));
  });

  test("an issued key is shown once: a replay returns the key's info without it", async () => {
    const key = w.alpha.manage;
    const req = { clientToken: "key-once", name: "ci", scopes: [] };
    const first = (await call(w.grpc, (x) => c(x).createKey, req, { key })).response;
    assert.match(first.key, /^crl_/);
    assert.deepEqual(first.info!.scopes, ["invoke"]);
    const replay = await call(w.grpc, (x) => c(x).createKey, req, { key });
    assert.equal(replay.response.key, "");
    assert.deepEqual(replay.response.info, first.info);
  });

  test("a token whose first call still runs is ABORTED and nothing is changed", async () => {
    const holder = await w.h.cp.pool.connect();
    try {
      await holder.query("SELECT pg_advisory_lock($1, hashtext($2 || E'\\n' || $3))", [
        0x49646d70,
        "tenant:alpha",
        "busy",
      ]);
      const before = await configRows(w.h, "alpha");
      const err = await callError(
        call(w.grpc, (x) => c(x).createUpstream, upstreamReq("busy", "busy"), { key: w.alpha.manage }),
      );
      assert.equal(err.code, status.ABORTED);
      assert.equal(corralCode(err), "CORRAL_TENANT_IDEMPOTENCY_IN_FLIGHT");
      assert.deepEqual(await configRows(w.h, "alpha"), before);
    } finally {
      await holder.query("SELECT pg_advisory_unlock_all()");
      holder.release();
    }
    const after = await call(w.grpc, (x) => c(x).createUpstream, upstreamReq("busy", "busy"), {
      key: w.alpha.manage,
    });
    assert.equal(after.response.upstream!.name, "busy");
  });
});

describe("bad input", () => {
  test("bad fields are INVALID_ARGUMENT naming the proto field, and change nothing", async () => {
    const key = w.alpha.manage;
    const up = await createUpstream(key, "valid-up");
    const before = await configRows(w.h, "alpha");
    const counter = await changeCounter(w.h);
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => createRoute(key, up.id, "no-slash"), "path_prefix"],
      [
        () =>
          call(
            w.grpc,
            (x) => c(x).createRoute,
            {
              clientToken: "",
              pathPrefix: "/x",
              hosts: [],
              methods: ["BREW"],
              upstreamId: up.id,
              limits: undefined,
              retries: undefined,
              clientLimits: undefined,
            },
            { key },
          ),
        "methods[0]",
      ],
      [
        () =>
          call(
            w.grpc,
            (x) => c(x).createRoute,
            {
              clientToken: "",
              pathPrefix: "/x",
              hosts: [],
              methods: [],
              upstreamId: up.id,
              timeoutMs: 0,
              limits: undefined,
              retries: undefined,
              clientLimits: undefined,
            },
            { key },
          ),
        "timeout_ms",
      ],
      [
        () =>
          call(
            w.grpc,
            (x) => c(x).createRoute,
            {
              clientToken: "",
              pathPrefix: "/x",
              hosts: [],
              methods: [],
              upstreamId: up.id,
              protocol: "ftp",
              limits: undefined,
              retries: undefined,
              clientLimits: undefined,
            },
            { key },
          ),
        "protocol",
      ],
      [
        () =>
          call(
            w.grpc,
            (x) => c(x).createUpstream,
            { clientToken: "", name: "bad", targets: ["ftp://x:1"], ...NO_POLICY },
            { key },
          ),
        "targets[0]",
      ],
      [
        () =>
          call(
            w.grpc,
            (x) => c(x).createUpstream,
            { clientToken: "", name: "bad", targets: [], ...NO_POLICY },
            { key },
          ),
        "targets",
      ],
      [
        () =>
          call(
            w.grpc,
            (x) => c(x).createUpstream,
            { clientToken: "", name: "x".repeat(100), targets: ["a:1"], ...NO_POLICY },
            { key },
          ),
        "name",
      ],
      [
        () => call(w.grpc, (x) => c(x).createKey, { clientToken: "", name: "k", scopes: ["admin"] }, { key }),
        "scopes[0]",
      ],
      [
        () =>
          call(
            w.grpc,
            (x) => c(x).createUpstream,
            { clientToken: "has space", name: "tok", targets: ["a:1"], ...NO_POLICY },
            { key },
          ),
        "client_token",
      ],
      [() => call(w.grpc, (x) => c(x).deleteRoute, { clientToken: "", id: "../etc" }, { key }), "id"],
    ];
    for (const [attempt, field] of cases) {
      const err = await callError(attempt());
      assert.equal(err.code, status.INVALID_ARGUMENT, field);
      assert.equal(corralCode(err), "CORRAL_TENANT_VALIDATION", field);
      const problem = problemOf(err);
      const errors = problem.errors as Array<{ path: string }>;
      assert.ok(
        errors.some((e) => e.path === field),
        `${field} in ${JSON.stringify(errors)}`,
      );
      assert.ok(err.details.includes(field), err.details);
    }
    assert.deepEqual(await configRows(w.h, "alpha"), before);
    assert.equal(await changeCounter(w.h), counter);
  });

  test("a message over the size limit is refused (RESOURCE_EXHAUSTED) before anything runs", async () => {
    const before = await configRows(w.h, "alpha");
    const targets = Array.from({ length: 40 }, (_, i) => `http://h${i}.example:80/${"p".repeat(2000)}`);
    const err = await callError(
      call(
        w.grpc,
        (x) => c(x).createUpstream,
        { clientToken: "", name: "huge", targets, ...NO_POLICY },
        { key: w.alpha.manage },
      ),
    );
    assert.equal(err.code, status.RESOURCE_EXHAUSTED);
    assert.deepEqual(await configRows(w.h, "alpha"), before);
  });

  test("an upstream in use is FAILED_PRECONDITION; a deleted route frees it", async () => {
    const key = w.alpha.manage;
    const up = await createUpstream(key, "in-use");
    const route = await createRoute(key, up.id, "/in-use");
    const err = await callError(
      call(w.grpc, (x) => c(x).deleteUpstream, { clientToken: "", id: up.id }, { key }),
    );
    assert.equal(err.code, status.FAILED_PRECONDITION);
    assert.equal(corralCode(err), "CORRAL_TENANT_IN_USE");
    await call(w.grpc, (x) => c(x).deleteRoute, { clientToken: "", id: route.id }, { key });
    await call(w.grpc, (x) => c(x).deleteUpstream, { clientToken: "", id: up.id }, { key });
    const gone = await callError(call(w.grpc, (x) => c(x).getUpstream, { id: up.id }, { key }));
    assert.equal(gone.code, status.NOT_FOUND);
  });
});

describe("deadlines", () => {
  test("a change that cannot finish before the deadline is rolled back", async () => {
    const key = w.alpha.manage;
    // hold the tenants row so the change's FOR KEY SHARE lock waits past the deadline
    const holder = await w.h.cp.pool.connect();
    const before = await configRows(w.h, "alpha");
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM tenants WHERE id = 'alpha' FOR UPDATE");
      const err = await callError(
        call(w.grpc, (x) => c(x).createUpstream, upstreamReq("late", "late-1"), { key, deadlineMs: 300 }),
      );
      assert.equal(err.code, status.DEADLINE_EXCEEDED);
    } finally {
      await holder.query("ROLLBACK");
      holder.release();
    }
    // the server gave up too: once it has answered the late call, the change has not committed,
    // and the token is free for a retry
    await poll("the server's own answer to the late change", () =>
      w.h.logs.some((l) => {
        const line = JSON.parse(l);
        return line.rpc === "CreateUpstream" && line.code === "DEADLINE_EXCEEDED";
      }),
    );
    assert.deepEqual(await configRows(w.h, "alpha"), before);
    const retry = await call(w.grpc, (x) => c(x).createUpstream, upstreamReq("late", "late-1"), { key });
    assert.equal(retry.headers.get("idempotent-replayed").length, 0);
  });
});

describe("publication", () => {
  test("a change through the tenant API is published as a new config version", async () => {
    const newest = async () =>
      (await w.h.api("GET", "/admin/v1/config/versions?limit=1")).body.items[0]?.version ?? 0;
    await poll("a first published version", async () => (await newest()) > 0);
    const before = await newest();
    await createUpstream(w.alpha.manage, "published");
    const after = await poll("a version newer than the one before", async () => {
      const v = await newest();
      return v > before && v;
    });
    assert.ok(after > before);
  });

  test("GetPlacement answers the tenant's shard over the fleet (empty fleet: no members)", async () => {
    const placement = (await call(w.grpc, (x) => c(x).getPlacement, {}, { key: w.alpha.manage })).response
      .placement!;
    assert.equal(placement.n, 0);
    assert.equal(placement.configuredK, 3);
    assert.deepEqual(placement.shard, []);
  });
});

test("an upstream's weights, health check and outlier settings over gRPC: defaults filled, bounds enforced", async () => {
  const key = w.alpha.manage;
  const targets = ["http://127.0.0.1:9", "127.0.0.1:9"];
  const created = await call(
    w.grpc,
    (x) => c(x).createUpstream,
    {
      clientToken: "",
      name: "with-policy",
      targets,
      weights: [4, 1],
      healthCheck: { protocol: "grpc", service: "shop.Cart" },
      outlier: { consecutiveFailures: 2 },
      retryBudget: undefined,
    },
    { key },
  );
  const up = created.response.upstream!;
  assert.deepEqual(up.weights, [4, 1]);
  assert.equal(up.healthCheck?.protocol, "grpc");
  assert.equal(up.healthCheck?.service, "shop.Cart");
  assert.equal(up.healthCheck?.intervalMs, 10_000);
  assert.equal(up.outlier?.consecutiveFailures, 2);
  assert.equal(up.outlier?.maxEjectedPercent, 50);
  const before = await configRows(w.h, "alpha");
  const cases: Array<[Pick<CreateUpstreamRequest, "weights" | "healthCheck" | "outlier">, string]> = [
    [{ weights: [1], healthCheck: undefined, outlier: undefined }, "weights"],
    [
      { weights: [], healthCheck: { protocol: "http", intervalMs: 5 }, outlier: undefined },
      "health_check.interval_ms",
    ],
    [
      { weights: [], healthCheck: undefined, outlier: { maxEjectedPercent: 500 } },
      "outlier.max_ejected_percent",
    ],
  ];
  for (const [policy, field] of cases) {
    const err = await callError(
      call(
        w.grpc,
        (x) => c(x).createUpstream,
        { clientToken: "", name: "bad-policy", targets, retryBudget: undefined, ...policy },
        { key },
      ),
    );
    assert.equal(err.code, status.INVALID_ARGUMENT, field);
    assert.ok(err.details.includes(field), `${field}: ${err.details}`);
  }
  assert.deepEqual(await configRows(w.h, "alpha"), before);
});
