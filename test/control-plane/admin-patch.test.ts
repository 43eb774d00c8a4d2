/**
 * PATCH of routes and upstreams on the admin API: the merged resource passes the same checks as
 * a new one (schema, egress policy, the upstream the tenant's own, retry statuses, quotas),
 * scoped by the tenant in the path, idempotent with an Idempotency-Key, and published with its
 * retries and retry budget.
 */
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { after, before, test } from "node:test";
import { runAdmin } from "../../bin/admin/admin-cli.ts";
import { LATEST_KEY, parsePointer } from "../../proto/blob-keys.ts";
import { decodeSnapshot } from "../../proto/snapshot-codec.ts";
import { egressAllowFor } from "../support/egress.ts";
import { type Harness, startHarness } from "./harness.ts";

let h: Harness;
let upId: string;
let otherUpId: string;
let routeId: string;
before(async () => {
  h = await startHarness();
  for (const id of ["shop", "rival"])
    await h.api("POST", "/admin/v1/tenants", {
      id,
      name: id,
      egressAllow: egressAllowFor("127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"),
    });
  const up = await h.api("POST", "/admin/v1/tenants/shop/upstreams", {
    name: "api",
    targets: ["127.0.0.1:9001"],
  });
  upId = up.body.id;
  assert.deepEqual(up.body.retryBudget, { percent: 10, minPerSecond: 3, windowMs: 10_000 });
  const rival = await h.api("POST", "/admin/v1/tenants/rival/upstreams", {
    name: "api",
    targets: ["127.0.0.1:9001"],
  });
  otherUpId = rival.body.id;
  const route = await h.api("POST", "/admin/v1/tenants/shop/routes", {
    pathPrefix: "/api",
    upstreamId: upId,
    retries: { attempts: 2 },
    limits: { rate: 5, burst: 10 },
  });
  assert.equal(route.status, 201);
  assert.deepEqual(route.body.retries, { attempts: 2, statuses: [] });
  routeId = route.body.id;
});
after(() => h.close());

const routePath = () => `/admin/v1/tenants/shop/routes/${routeId}`;
const upstreamPath = () => `/admin/v1/tenants/shop/upstreams/${upId}`;

test("a route patch changes only what it names; limits null removes the bucket", async () => {
  const before = (await h.api("GET", routePath())).body;
  const patched = await h.api("PATCH", routePath(), {
    timeoutMs: 900,
    retries: { attempts: 3, statuses: [503, 429] },
  });
  assert.equal(patched.status, 200);
  assert.deepEqual(patched.body, {
    ...before,
    timeoutMs: 900,
    retries: { attempts: 3, statuses: [503, 429] },
  });
  const unbucketed = await h.api("PATCH", routePath(), { limits: null });
  assert.equal(unbucketed.body.limits, null);
  assert.deepEqual((await h.api("GET", routePath())).body, unbucketed.body);
});

test("a route patch is checked like a new route, and a refused one changes nothing", async () => {
  const before = (await h.api("GET", routePath())).body;
  const refusals: [unknown, number, RegExp][] = [
    [{}, 400, /fewer than 1 properties/],
    [{ owner: "x" }, 400, /additional properties/],
    [{ pathPrefix: "no-slash" }, 400, /pattern/],
    [{ retries: { attempts: 11 } }, 400, /<= 10/],
    [
      { retries: { attempts: 1, statuses: [14] } },
      400,
      /body\/retries\/statuses\/0 must be an HTTP status from 400 to 599/,
    ],
    [{ protocol: "grpc" }, 400, /must be a gRPC code from 1 to 16/],
    [{ upstreamId: otherUpId }, 400, /does not exist in tenant shop/],
  ];
  for (const [body, status, detail] of refusals) {
    const res = await h.api("PATCH", routePath(), body);
    assert.equal(res.status, status, JSON.stringify(body));
    assert.match(res.body.detail, detail);
  }
  assert.deepEqual((await h.api("GET", routePath())).body, before);
});

test("an upstream patch: new targets pass the egress policy, the name stays unique, the budget is set", async () => {
  const patched = await h.api("PATCH", upstreamPath(), {
    targets: ["http://127.0.0.1:9002/", "127.0.0.1:9003"],
    retryBudget: { percent: 20, minPerSecond: 0, windowMs: 5000 },
  });
  assert.equal(patched.status, 200);
  assert.deepEqual(patched.body.targets, ["http://127.0.0.1:9002", "127.0.0.1:9003"]);
  assert.deepEqual(patched.body.retryBudget, { percent: 20, minPerSecond: 0, windowMs: 5000 });
  assert.equal(patched.body.name, "api");

  const internal = await h.api("PATCH", upstreamPath(), { targets: ["http://10.0.0.7:80"] });
  assert.equal(internal.status, 400);
  assert.equal(internal.body.code, "CORRAL_ADMIN_EGRESS_DENIED");
  await h.api("POST", "/admin/v1/tenants/shop/upstreams", { name: "other", targets: ["127.0.0.1:9001"] });
  const taken = await h.api("PATCH", upstreamPath(), { name: "other" });
  assert.equal(taken.status, 409);
  const budget = await h.api("PATCH", upstreamPath(), {
    retryBudget: { percent: 0, minPerSecond: 0, windowMs: 5000 },
  });
  assert.equal(budget.status, 400);
  assert.deepEqual((await h.api("GET", upstreamPath())).body, patched.body);
});

test("another tenant's route or upstream is not found through this tenant's path", async () => {
  const rivalRoute = await h.api("POST", "/admin/v1/tenants/rival/routes", {
    pathPrefix: "/",
    upstreamId: otherUpId,
  });
  const viaShop = await h.api("PATCH", `/admin/v1/tenants/shop/routes/${rivalRoute.body.id}`, {
    timeoutMs: 5,
  });
  assert.equal(viaShop.status, 404);
  const upViaShop = await h.api("PATCH", `/admin/v1/tenants/shop/upstreams/${otherUpId}`, { name: "mine" });
  assert.equal(upViaShop.status, 404);
  assert.equal(
    (await h.api("GET", `/admin/v1/tenants/rival/routes/${rivalRoute.body.id}`)).body.timeoutMs,
    15_000,
  );
  assert.equal((await h.api("GET", `/admin/v1/tenants/rival/upstreams/${otherUpId}`)).body.name, "api");
});

test("a patch cannot grow a tenant past its quotas", async () => {
  await h.api("PATCH", "/admin/v1/tenants/rival", { quotas: { maxTargets: 2 } });
  const grown = await h.api("PATCH", `/admin/v1/tenants/rival/upstreams/${otherUpId}`, {
    targets: ["127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"],
  });
  assert.equal(grown.status, 507);
  assert.equal(grown.body.code, "CORRAL_QUOTA_EXCEEDED");
  assert.deepEqual((await h.api("GET", `/admin/v1/tenants/rival/upstreams/${otherUpId}`)).body.targets, [
    "127.0.0.1:9001",
  ]);
});

test("Idempotency-Key: the same patch replays its first answer, a different one is refused", async () => {
  const key = { "idempotency-key": "patch-route-1" };
  const first = await h.api("PATCH", routePath(), { timeoutMs: 1234 }, key);
  assert.equal(first.status, 200);
  await h.api("PATCH", routePath(), { timeoutMs: 4321 });
  const replay = await h.api("PATCH", routePath(), { timeoutMs: 1234 }, key);
  assert.equal(replay.headers.get("idempotent-replayed"), "true");
  assert.deepEqual(replay.body, first.body);
  assert.equal((await h.api("GET", routePath())).body.timeoutMs, 4321, "the replay changed nothing");
  const other = await h.api("PATCH", routePath(), { timeoutMs: 99 }, key);
  assert.equal(other.status, 422);
});

test("the published snapshot carries the route's retries and the upstream's budget", async () => {
  await h.api("PATCH", routePath(), { retries: { attempts: 4, statuses: [502] } });
  await h.cp.publisher.idle();
  const capacity = Number(h.env.CORRAL_SNAPSHOT_CAPACITY);
  const pointer = parsePointer(await h.blobs.get(LATEST_KEY, 4096));
  const snapshot = decodeSnapshot(await h.blobs.get(pointer.key, capacity), h.publicKey, capacity);
  const shop = snapshot.tenants.find((t) => t.id === "shop")!;
  const route = shop.routes.find((r) => r.id === routeId)!;
  assert.deepEqual([route.retries, route.retryStatuses], [4, [502]]);
  const up = shop.upstreams.find((u) => u.id === upId)!;
  assert.deepEqual(
    [up.retryBudgetPercent, up.retryBudgetMinPerSecond, up.retryBudgetWindowMs, up.targets],
    [20, 0, 5000, ["http://127.0.0.1:9002", "127.0.0.1:9003"]],
  );
});

test("corral admin routes update / upstreams update change only the options given", async () => {
  const out: string[] = [];
  const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t), env: {}, cwd: tmpdir() };
  const admin = (...argv: string[]) => runAdmin([...argv, "--url", h.cp.url, "--token", h.adminToken], io);
  assert.equal(
    await admin("routes", "update", "shop", routeId, "--retries", "5", "--retry-status", "503"),
    0,
  );
  assert.deepEqual(JSON.parse(out.at(-1)!).retries, { attempts: 5, statuses: [503] });
  assert.equal(await admin("upstreams", "update", "shop", upId, "--budget-percent", "30"), 0);
  const up = JSON.parse(out.at(-1)!);
  assert.deepEqual(up.retryBudget, { percent: 30, minPerSecond: 3, windowMs: 10_000 });
  assert.deepEqual(up.targets, ["http://127.0.0.1:9002", "127.0.0.1:9003"], "targets untouched");
  assert.equal(await admin("routes", "update", "shop", routeId, "--retry-status", "503"), 2);
  assert.equal(await admin("routes", "update", "shop", routeId, "--retries", "11"), 1);
});

test("a route patch carries streaming, public, idempotency and client limits, with create's checks", async () => {
  const made = await h.api("POST", "/admin/v1/tenants/shop/routes", {
    pathPrefix: "/more",
    upstreamId: upId,
  });
  const path = `/admin/v1/tenants/shop/routes/${made.body.id}`;
  const ws = await h.api("PATCH", path, {
    websocket: true,
    websocketIdleTimeoutMs: 5_000,
    streamIdleTimeoutMs: 2_000,
  });
  assert.equal(ws.status, 200);
  assert.deepEqual(
    [
      ws.body.websocket,
      ws.body.websocketIdleTimeoutMs,
      ws.body.streamIdleTimeoutMs,
      ws.body.websocketMaxConnections,
    ],
    [true, 5_000, 2_000, 0],
  );
  const rivalPublic = await h.api("POST", "/admin/v1/tenants/rival/routes", {
    pathPrefix: "/",
    upstreamId: otherUpId,
    hosts: ["rival.example"],
    public: true,
  });
  assert.equal(rivalPublic.status, 201);
  const refusals: [unknown, number, RegExp][] = [
    [{ websocketIdleTimeoutMs: 10 }, 400, />= 1000/],
    [{ public: true }, 400, /a public route must name its hosts/],
    [{ clientLimits: { rate: 1, burst: 2 } }, 400, /client limits apply to public routes only/],
    [{ hosts: ["rival.example"] }, 409, /is public for another tenant/],
    // idempotency keys apply to gRPC routes too (unary calls), so that patch is not a refusal
  ];
  for (const [body, status, detail] of refusals) {
    const res = await h.api("PATCH", path, body);
    assert.equal(res.status, status, JSON.stringify(body));
    assert.match(JSON.stringify(res.body), detail);
  }
  assert.deepEqual((await h.api("GET", path)).body, ws.body, "a refused patch changes nothing");
  const open = await h.api("PATCH", path, {
    public: true,
    hosts: ["shop.example"],
    clientLimits: { rate: 1, burst: 2 },
    idempotency: true,
  });
  assert.equal(open.status, 200);
  assert.deepEqual(
    [open.body.public, open.body.idempotency, open.body.clientLimits],
    [true, true, { rate: 1, burst: 2 }],
  );
  // the other way round: the rival cannot take the host shop now has public
  const rivalRoute = rivalPublic.body.id as string;
  const taken = await h.api("PATCH", `/admin/v1/tenants/rival/routes/${rivalRoute}`, {
    hosts: ["shop.example"],
  });
  assert.equal(taken.status, 409);
  const closed = await h.api("PATCH", path, { clientLimits: null });
  assert.equal(closed.body.clientLimits, null);
});

test("an upstream patch carries weights, health check and outlier settings, with create's cross-field checks", async () => {
  const made = await h.api("POST", "/admin/v1/tenants/shop/upstreams", {
    name: "policy",
    targets: ["127.0.0.1:9001", "127.0.0.1:9002"],
  });
  const path = `/admin/v1/tenants/shop/upstreams/${made.body.id}`;
  const weighted = await h.api("PATCH", path, {
    weights: [3, 1],
    healthCheck: { protocol: "http", path: "/health" },
    outlier: { consecutiveFailures: 2 },
  });
  assert.equal(weighted.status, 200);
  assert.deepEqual(weighted.body.weights, [3, 1]);
  assert.deepEqual(weighted.body.healthCheck, {
    protocol: "http",
    path: "/health",
    service: "",
    intervalMs: 10_000,
    timeoutMs: 2_000,
    healthyThreshold: 2,
    unhealthyThreshold: 3,
  });
  assert.equal(weighted.body.outlier.consecutiveFailures, 2);
  assert.equal(weighted.body.outlier.baseEjectionMs, 5_000, "the omitted fields take their defaults");
  const refusals: [unknown, RegExp][] = [
    [{ targets: ["127.0.0.1:9001"] }, /2 weights for 1 targets/],
    [{ weights: [1, 1, 1] }, /3 weights for 2 targets/],
    [{ healthCheck: { protocol: "http", intervalMs: 1_000, timeoutMs: 2_000 } }, /exceeds intervalMs/],
    [{ outlier: { baseEjectionMs: 20_000, maxEjectionMs: 10_000 } }, /below baseEjectionMs/],
    [{ weights: [0, 1] }, />= 1/],
  ];
  for (const [body, detail] of refusals) {
    const res = await h.api("PATCH", path, body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.match(JSON.stringify(res.body), detail);
  }
  assert.deepEqual((await h.api("GET", path)).body, weighted.body, "a refused patch changes nothing");
  const plain = await h.api("PATCH", path, { targets: ["127.0.0.1:9003"], weights: [], healthCheck: null });
  assert.equal(plain.status, 200);
  assert.deepEqual([plain.body.weights, plain.body.healthCheck], [null, null]);
  assert.equal(plain.body.outlier.consecutiveFailures, 2, "what the patch does not name stays");
});
