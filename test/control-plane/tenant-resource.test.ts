/**
 * The statements store/tenant-resource.ts makes for routes and upstreams, on a real Postgres:
 * a resource reads back as written (every field, through its columns), a replace changes it in
 * place, and every statement is scoped by the tenant — another tenant's id is not found, not
 * replaced and not deleted, whatever the caller passes.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { DEFAULT_OUTLIER } from "../../proto/upstream-policy.ts";
import { createPool, type Pool } from "../../control-plane/store/db.ts";
import { migrate } from "../../control-plane/store/migrate.ts";
import { type NewRoute, routeTable } from "../../control-plane/store/routes.ts";
import { insertTenant } from "../../control-plane/store/tenants.ts";
import { type NewUpstream, upstreamTable } from "../../control-plane/store/upstreams.ts";
import { startPostgres, type TestPostgres } from "../support/postgres.ts";

let server: TestPostgres;
let pool: Pool;

const upstreamInput = (name: string): NewUpstream => ({
  name,
  targets: ["http://a.example:8080", "http://b.example:8080"],
  connectTimeoutMs: 1234,
  weights: [3, 1],
  healthCheck: {
    protocol: "http",
    path: "/healthz",
    service: "",
    intervalMs: 5000,
    timeoutMs: 1000,
    healthyThreshold: 2,
    unhealthyThreshold: 3,
  },
  outlier: { ...DEFAULT_OUTLIER, consecutiveFailures: 7 },
  retryBudget: { percent: 20, minPerSecond: 5, windowMs: 20_000 },
});

const routeInput = (upstreamId: string): NewRoute => ({
  pathPrefix: "/api",
  hosts: ["api.example.com"],
  methods: ["GET", "POST"],
  upstreamId,
  timeoutMs: 2500,
  protocol: "http",
  stripPrefix: true,
  limits: { rate: 10, burst: 20 },
  retries: { attempts: 2, statuses: [502, 503] },
  public: true,
  idempotency: true,
  clientLimits: { rate: 1, burst: 2 },
  websocket: true,
  websocketIdleTimeoutMs: 0,
  websocketMaxConnections: 50,
  streamIdleTimeoutMs: 0,
  websocketMaxMessageBytes: 65_536,
});

before(async () => {
  server = await startPostgres();
  pool = createPool(server.url, { max: 2 });
  await migrate(pool);
  for (const id of ["alpha", "beta"])
    await insertTenant(pool, { id, name: id, plan: "standard", status: "active" });
});

after(async () => {
  await pool?.end();
  await server?.stop();
});

test("an upstream and a route read back as written; a replace changes them in place", async () => {
  const up = await upstreamTable.insert(pool, "alpha", upstreamInput("read-back"));
  assert.match(up.id, /^up_[0-9a-f]{16}$/);
  assert.deepEqual(
    { ...up, id: "", createdAt: "" },
    { ...upstreamInput("read-back"), id: "", tenantId: "alpha", createdAt: "" },
  );
  assert.deepEqual(await upstreamTable.get(pool, "alpha", up.id), up);

  const route = await routeTable.insert(pool, "alpha", routeInput(up.id));
  assert.match(route.id, /^rt_[0-9a-f]{16}$/);
  assert.deepEqual(
    { ...route, id: "", createdAt: "" },
    { ...routeInput(up.id), id: "", tenantId: "alpha", createdAt: "" },
  );
  assert.deepEqual(await routeTable.get(pool, "alpha", route.id), route);
  const stored = await pool.query(
    "SELECT websocket_idle_timeout_ms, websocket_max_connections FROM routes WHERE id = $1",
    [route.id],
  );
  assert.deepEqual(
    stored.rows[0],
    { websocket_idle_timeout_ms: null, websocket_max_connections: 50 },
    "0 is stored as NULL",
  );

  const { limits: _l, clientLimits: _c, retries: _r, websocket: _w, ...bare } = routeInput(up.id);
  const replaced = await routeTable.replace(pool, "alpha", route.id, { ...bare, public: false, hosts: [] });
  assert.ok(replaced);
  assert.equal(replaced.id, route.id);
  assert.equal(replaced.createdAt, route.createdAt);
  assert.deepEqual(
    [replaced.limits, replaced.clientLimits, replaced.retries, replaced.websocket],
    [null, null, { attempts: 0, statuses: [] }, false],
    "absent optional fields take their stored defaults",
  );
  assert.deepEqual(
    (await routeTable.list(pool, "alpha")).map((r) => r.id),
    [route.id],
  );
});

test("attack: another tenant's id is not found, not replaced and not deleted", async () => {
  const up = await upstreamTable.insert(pool, "alpha", upstreamInput("owned-by-alpha"));
  const route = await routeTable.insert(pool, "alpha", routeInput(up.id));
  const before = await routeTable.get(pool, "alpha", route.id);

  assert.equal(await upstreamTable.get(pool, "beta", up.id), undefined);
  assert.equal(await routeTable.get(pool, "beta", route.id), undefined);
  assert.equal(await upstreamTable.replace(pool, "beta", up.id, upstreamInput("stolen")), undefined);
  assert.equal(await routeTable.remove(pool, "beta", route.id), false);
  assert.equal(await upstreamTable.remove(pool, "beta", up.id), false);
  assert.deepEqual(await routeTable.list(pool, "beta"), []);
  assert.deepEqual(await upstreamTable.list(pool, "beta"), []);

  assert.deepEqual(await routeTable.get(pool, "alpha", route.id), before);
  assert.equal((await upstreamTable.get(pool, "alpha", up.id))?.name, "owned-by-alpha");
});

test("constraint violations are the API's errors: a taken name, another tenant's upstream, an upstream in use", async () => {
  const up = await upstreamTable.insert(pool, "alpha", upstreamInput("unique-name"));
  await assert.rejects(upstreamTable.insert(pool, "alpha", upstreamInput("unique-name")), {
    code: "CORRAL_ADMIN_CONFLICT",
  });
  // the same name in another tenant is that tenant's own
  await upstreamTable.insert(pool, "beta", upstreamInput("unique-name"));

  await assert.rejects(routeTable.insert(pool, "beta", routeInput(up.id)), {
    code: "CORRAL_ADMIN_VALIDATION",
    message: `upstream ${up.id} does not exist in tenant beta`,
  });

  await routeTable.insert(pool, "alpha", routeInput(up.id));
  await assert.rejects(upstreamTable.remove(pool, "alpha", up.id), { code: "CORRAL_ADMIN_IN_USE" });
  assert.ok(await upstreamTable.get(pool, "alpha", up.id), "the refused delete changed nothing");
});
