/**
 * Changing routes and upstreams in place through the tenant API, REST PATCH and gRPC
 * UpdateRoute / UpdateUpstream: the caller's own resources only (another tenant's are not
 * found, and stay as they were), the same checks as create (egress, the tenant's own upstream,
 * retry statuses), idempotent under one client token for both transports.
 */
import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { after, before, describe, test } from "node:test";
import type * as pb from "../../proto/gen/corral/tenant/v1/tenant.ts";
import { call, callError, corralCode, problemOf, startWorld, type World } from "./support.ts";

let w: World;
let alphaUp: string;
let alphaRoute: string;
let betaUp: string;
let betaRoute: string;

async function seed(key: string) {
  const up = await w.rest(key, "POST", "/v1/upstreams", { name: "api", targets: ["127.0.0.1:9001"] });
  const route = await w.rest(key, "POST", "/v1/routes", {
    pathPrefix: "/api",
    upstreamId: up.body.id,
    retries: { attempts: 1 },
  });
  assert.equal(route.status, 201, JSON.stringify(route.body));
  return { up: up.body.id as string, route: route.body.id as string };
}

before(async () => {
  w = await startWorld();
  ({ up: alphaUp, route: alphaRoute } = await seed(w.alpha.manage));
  ({ up: betaUp, route: betaRoute } = await seed(w.beta.manage));
});
after(() => w.close());

const updateRoute = (key: string, req: Partial<pb.UpdateRouteRequest>) =>
  call(
    w.grpc,
    (x) => x.updateRoute,
    { clientToken: "", id: alphaRoute, route: undefined, updateMask: [], ...req },
    { key },
  );
const updateUpstream = (key: string, req: Partial<pb.UpdateUpstreamRequest>) =>
  call(
    w.grpc,
    (x) => x.updateUpstream,
    { clientToken: "", id: alphaUp, upstream: undefined, updateMask: [], ...req },
    { key },
  );

describe("REST PATCH", () => {
  test("changes the named fields of the caller's route and upstream", async () => {
    const route = await w.rest(w.alpha.manage, "PATCH", `/v1/routes/${alphaRoute}`, {
      timeoutMs: 700,
      retries: { attempts: 3, statuses: [502, 503] },
    });
    assert.equal(route.status, 200);
    assert.deepEqual(
      [route.body.timeoutMs, route.body.retries],
      [700, { attempts: 3, statuses: [502, 503] }],
    );
    assert.equal(route.body.pathPrefix, "/api");
    const up = await w.rest(w.alpha.manage, "PATCH", `/v1/upstreams/${alphaUp}`, {
      retryBudget: { percent: 25, minPerSecond: 1, windowMs: 2000 },
    });
    assert.equal(up.status, 200);
    assert.deepEqual(up.body.retryBudget, { percent: 25, minPerSecond: 1, windowMs: 2000 });
  });

  test("attack: another tenant's route or upstream is not found and does not change", async () => {
    const route = await w.rest(w.alpha.manage, "PATCH", `/v1/routes/${betaRoute}`, { timeoutMs: 1 });
    assert.equal(route.status, 404);
    const up = await w.rest(w.alpha.manage, "PATCH", `/v1/upstreams/${betaUp}`, { targets: ["127.0.0.1:1"] });
    assert.equal(up.status, 404);
    // nor can a route of one's own be pointed at another tenant's upstream
    const hijack = await w.rest(w.alpha.manage, "PATCH", `/v1/routes/${alphaRoute}`, { upstreamId: betaUp });
    assert.equal(hijack.status, 400);
    assert.equal((await w.rest(w.beta.manage, "GET", `/v1/routes/${betaRoute}`)).body.timeoutMs, 15_000);
    assert.deepEqual((await w.rest(w.beta.manage, "GET", `/v1/upstreams/${betaUp}`)).body.targets, [
      "127.0.0.1:9001",
    ]);
  });

  test("attack: a patch cannot reach a target the egress policy refuses", async () => {
    for (const target of ["http://10.0.0.1:80", "http://169.254.169.254", "127.0.0.2:80"]) {
      const res = await w.rest(w.alpha.manage, "PATCH", `/v1/upstreams/${alphaUp}`, { targets: [target] });
      assert.equal(res.status, 400, target);
      assert.equal(res.body.code, "CORRAL_TENANT_EGRESS_DENIED", JSON.stringify(res.body));
    }
    assert.deepEqual((await w.rest(w.alpha.manage, "GET", `/v1/upstreams/${alphaUp}`)).body.targets, [
      "127.0.0.1:9001",
    ]);
  });

  test("an invoke key cannot patch; bad bodies are refused with the field named", async () => {
    const invoke = await w.rest(w.alpha.invoke, "PATCH", `/v1/routes/${alphaRoute}`, { timeoutMs: 5 });
    assert.equal(invoke.status, 403);
    const empty = await w.rest(w.alpha.manage, "PATCH", `/v1/routes/${alphaRoute}`, {});
    assert.equal(empty.status, 400);
    const grpcStatus = await w.rest(w.alpha.manage, "PATCH", `/v1/routes/${alphaRoute}`, {
      retries: { attempts: 1, statuses: [14] },
    });
    assert.equal(grpcStatus.status, 400);
    assert.match(grpcStatus.body.detail, /retries\/statuses\/0/);
  });
});

describe("gRPC Update", () => {
  test("UpdateRoute sets the masked fields only; limits in the mask but absent removes the bucket", async () => {
    await w.rest(w.alpha.manage, "PATCH", `/v1/routes/${alphaRoute}`, { limits: { rate: 5, burst: 5 } });
    const route = {
      ...(await call(w.grpc, (x) => x.getRoute, { id: alphaRoute }, { key: w.alpha.manage })).response.route!,
    };
    const { response } = await updateRoute(w.alpha.manage, {
      route: { ...route, timeoutMs: 321, pathPrefix: "/ignored", limits: undefined },
      updateMask: ["timeout_ms", "limits"],
    });
    assert.equal(response.route!.timeoutMs, 321);
    assert.equal(response.route!.pathPrefix, "/api");
    assert.equal(response.route!.limits, undefined);
    const retried = await updateRoute(w.alpha.manage, {
      route: { ...route, retries: { attempts: 2, statuses: [] } },
      updateMask: ["retries"],
    });
    assert.deepEqual(retried.response.route!.retries, { attempts: 2, statuses: [] });
  });

  test("update_mask knows every route field: streaming, public, idempotency, client limits", async () => {
    const route = (await call(w.grpc, (x) => x.getRoute, { id: alphaRoute }, { key: w.alpha.manage }))
      .response.route!;
    const { response } = await updateRoute(w.alpha.manage, {
      route: {
        ...route,
        websocket: true,
        websocketMaxConnections: 7,
        streamIdleTimeoutMs: 2_000,
        public: true,
        hosts: ["alpha-update.test"],
        idempotency: true,
        clientLimits: { rate: 1, burst: 2 },
      },
      updateMask: [
        "websocket",
        "websocket_max_connections",
        "stream_idle_timeout_ms",
        "public",
        "hosts",
        "idempotency",
        "client_limits",
      ],
    });
    const r = response.route!;
    assert.deepEqual(
      [
        r.websocket,
        r.websocketMaxConnections,
        r.streamIdleTimeoutMs,
        r.public,
        r.idempotency,
        r.clientLimits,
      ],
      [true, 7, 2_000, true, true, { rate: 1, burst: 2 }],
    );
    // attack: the same checks as create: client limits only on public routes
    const err = await callError(
      updateRoute(w.alpha.manage, { route: { ...r, public: false }, updateMask: ["public"] }),
    );
    assert.equal(err.code, status.INVALID_ARGUMENT);
    const back = await updateRoute(w.alpha.manage, {
      route: { ...r, public: false, hosts: [], clientLimits: undefined, websocket: false },
      updateMask: ["public", "hosts", "client_limits", "websocket"],
    });
    assert.deepEqual([back.response.route!.public, back.response.route!.clientLimits], [false, undefined]);
  });

  test("update_mask knows every upstream field: weights, health_check (absent: off), outlier", async () => {
    const up = (await call(w.grpc, (x) => x.getUpstream, { id: alphaUp }, { key: w.alpha.manage })).response
      .upstream!;
    const n = up.targets.length;
    const { response } = await updateUpstream(w.alpha.manage, {
      upstream: {
        ...up,
        weights: Array(n).fill(2),
        healthCheck: { protocol: "http", path: "/up" },
        outlier: { consecutiveFailures: 3 },
      },
      updateMask: ["weights", "health_check", "outlier"],
    });
    const u = response.upstream!;
    assert.deepEqual(u.weights, Array(n).fill(2));
    assert.deepEqual([u.healthCheck?.path, u.healthCheck?.intervalMs], ["/up", 10_000]);
    assert.equal(u.outlier?.consecutiveFailures, 3);
    const bad = await callError(
      updateUpstream(w.alpha.manage, {
        upstream: { ...u, weights: Array(n + 1).fill(1) },
        updateMask: ["weights"],
      }),
    );
    assert.equal(bad.code, status.INVALID_ARGUMENT);
    const off = await updateUpstream(w.alpha.manage, {
      upstream: { ...u, healthCheck: undefined, weights: [] },
      updateMask: ["health_check", "weights"],
    });
    assert.deepEqual([off.response.upstream!.healthCheck, off.response.upstream!.weights], [undefined, []]);
  });

  test("UpdateUpstream: new targets pass the egress policy; another tenant's upstream is NOT_FOUND", async () => {
    const ok = await updateUpstream(w.alpha.manage, {
      upstream: {
        id: "",
        name: "",
        targets: ["127.0.0.1:9002"],
        connectTimeoutMs: 0,
        createdAt: "",
        retryBudget: undefined,
        weights: [],
        healthCheck: undefined,
        outlier: undefined,
      },
      updateMask: ["targets"],
    });
    assert.deepEqual(ok.response.upstream!.targets, ["127.0.0.1:9002"]);
    assert.equal(ok.response.upstream!.name, "api");
    const denied = await callError(
      updateUpstream(w.alpha.manage, {
        upstream: {
          id: "",
          name: "",
          targets: ["http://10.1.1.1:80"],
          connectTimeoutMs: 0,
          createdAt: "",
          retryBudget: undefined,
          weights: [],
          healthCheck: undefined,
          outlier: undefined,
        },
        updateMask: ["targets"],
      }),
    );
    assert.equal(denied.code, status.INVALID_ARGUMENT);
    assert.equal(corralCode(denied), "CORRAL_TENANT_EGRESS_DENIED");
    const foreign = await callError(updateUpstream(w.alpha.manage, { id: betaUp, updateMask: ["name"] }));
    assert.equal(foreign.code, status.NOT_FOUND);
    const foreignRoute = await callError(
      updateRoute(w.alpha.manage, { id: betaRoute, updateMask: ["timeout_ms"] }),
    );
    assert.equal(foreignRoute.code, status.NOT_FOUND);
  });

  test("an empty or unknown update_mask is INVALID_ARGUMENT naming the field", async () => {
    const empty = await callError(updateRoute(w.alpha.manage, { updateMask: [] }));
    assert.equal(empty.code, status.INVALID_ARGUMENT);
    const unknown = await callError(updateRoute(w.alpha.manage, { updateMask: ["owner_tenant"] }));
    assert.equal(unknown.code, status.INVALID_ARGUMENT);
    assert.match(JSON.stringify(problemOf(unknown)), /ownerTenant|owner_tenant/);
  });

  test("one client token: the REST PATCH and its gRPC twin are the same change", async () => {
    const first = await w.rest(
      w.alpha.manage,
      "PATCH",
      `/v1/routes/${alphaRoute}`,
      { timeoutMs: 4444 },
      { "idempotency-key": "upd-1" },
    );
    assert.equal(first.status, 200);
    const route = (await call(w.grpc, (x) => x.getRoute, { id: alphaRoute }, { key: w.alpha.manage }))
      .response.route!;
    const twin = await updateRoute(w.alpha.manage, {
      clientToken: "upd-1",
      route: { ...route, timeoutMs: 4444 },
      updateMask: ["timeout_ms"],
    });
    assert.deepEqual(twin.headers.get("idempotent-replayed"), ["true"]);
    const other = await callError(
      updateRoute(w.alpha.manage, {
        clientToken: "upd-1",
        route: { ...route, timeoutMs: 1 },
        updateMask: ["timeout_ms"],
      }),
    );
    assert.equal(other.code, status.INVALID_ARGUMENT);
  });
});

test("attack: a tenant cannot grow past its quotas by patching", async () => {
  await w.h.api("PATCH", "/admin/v1/tenants/beta", { quotas: { maxTargets: 2 } });
  const targets = ["127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"];
  const grown = await w.rest(w.beta.manage, "PATCH", `/v1/upstreams/${betaUp}`, { targets });
  assert.equal(grown.status, 507);
  assert.equal(grown.body.code, "CORRAL_QUOTA_EXCEEDED");
  const viaGrpc = await callError(
    call(
      w.grpc,
      (x) => x.updateUpstream,
      {
        clientToken: "",
        id: betaUp,
        upstream: {
          id: "",
          name: "",
          targets,
          connectTimeoutMs: 0,
          createdAt: "",
          retryBudget: undefined,
          weights: [],
          healthCheck: undefined,
          outlier: undefined,
        },
        updateMask: ["targets"],
      },
      { key: w.beta.manage },
    ),
  );
  assert.equal(viaGrpc.code, status.RESOURCE_EXHAUSTED);
  assert.deepEqual((await w.rest(w.beta.manage, "GET", `/v1/upstreams/${betaUp}`)).body.targets, [
    "127.0.0.1:9001",
  ]);
});
