/**
 * Public routes, idempotency and client limits through the tenant API (REST and gRPC) and the
 * admin API, against a real control plane and Postgres: the fields round-trip and reach the
 * published snapshot; a public route names hosts; a host is public for one tenant only, and
 * a tenant cannot take (or route on) another tenant's public host.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { runAdmin } from "../../bin/admin/admin-cli.ts";
import { publishedSnapshot } from "../placement/support.ts";
import { poll } from "../support/poll.ts";
import { call, callError, corralCode, startWorld, type World } from "./support.ts";

let w: World;
const upstreams: Record<string, string> = {};
before(async () => {
  w = await startWorld();
  for (const [tenant, key] of [
    ["alpha", w.alpha.manage],
    ["beta", w.beta.manage],
  ] as const) {
    const up = await w.rest(key, "POST", "/v1/upstreams", { name: "api", targets: ["http://127.0.0.1:9"] });
    upstreams[tenant] = up.body.id;
  }
});
after(() => w.close());

const routeOf = (tenant: "alpha" | "beta", body: Record<string, unknown>) =>
  w.rest(w[tenant].manage, "POST", "/v1/routes", { upstreamId: upstreams[tenant], ...body });

test("a public route with a client bucket and an idempotent route round-trip and reach the snapshot", async () => {
  const pub = await routeOf("alpha", {
    pathPrefix: "/shop",
    hosts: ["shop.alpha.test"],
    public: true,
    clientLimits: { rate: 5, burst: 10 },
  });
  assert.equal(pub.status, 201, JSON.stringify(pub.body));
  assert.deepEqual(
    [pub.body.public, pub.body.clientLimits, pub.body.idempotency],
    [true, { rate: 5, burst: 10 }, false],
  );
  const idem = await routeOf("alpha", { pathPrefix: "/orders", idempotency: true });
  assert.deepEqual([idem.body.public, idem.body.idempotency, idem.body.clientLimits], [false, true, null]);
  const listed = await call(w.grpc, (c) => c.listRoutes, {}, { key: w.alpha.manage });
  const viaGrpc = listed.response.routes.find((r) => r.id === pub.body.id)!;
  assert.deepEqual([viaGrpc.public, viaGrpc.clientLimits], [true, { rate: 5, burst: 10 }]);
  const snapshot = await poll("the routes to be published", async () => {
    const alpha = (await publishedSnapshot(w.h)).tenants.find((t) => t.id === "alpha");
    return alpha?.routes.some((r) => r.id === idem.body.id) && alpha;
  });
  const compiled = snapshot.routes.find((r) => r.id === pub.body.id)!;
  assert.deepEqual([compiled.public, compiled.clientRate, compiled.clientBurst], [true, 5, 10]);
  assert.equal(snapshot.routes.find((r) => r.id === idem.body.id)!.idempotency, true);
});

test("gRPC CreateRoute takes the same fields", async () => {
  const req = {
    clientToken: "",
    pathPrefix: "/grpc-made",
    hosts: ["grpc.alpha.test"],
    methods: [],
    upstreamId: upstreams.alpha!,
    limits: undefined,
    public: true,
    clientLimits: { rate: 1, burst: 2 },
    retries: undefined,
  };
  const made = (await call(w.grpc, (c) => c.createRoute, req, { key: w.alpha.manage })).response.route!;
  assert.deepEqual([made.public, made.clientLimits], [true, { rate: 1, burst: 2 }]);
  const bad = await callError(
    call(
      w.grpc,
      (c) => c.createRoute,
      { ...req, hosts: [], clientLimits: undefined },
      { key: w.alpha.manage },
    ),
  );
  assert.equal(bad.code, status.INVALID_ARGUMENT);
});

test("gRPC routes take idempotency keys through REST, gRPC and the admin API", async () => {
  const rest = await routeOf("alpha", { pathPrefix: "/pay.v1", protocol: "grpc", idempotency: true });
  assert.equal(rest.status, 201, JSON.stringify(rest.body));
  assert.deepEqual([rest.body.protocol, rest.body.idempotency], ["grpc", true]);
  const viaGrpc = await call(
    w.grpc,
    (c) => c.createRoute,
    {
      clientToken: "",
      pathPrefix: "/ship.v1",
      hosts: [],
      methods: [],
      upstreamId: upstreams.alpha!,
      limits: undefined,
      clientLimits: undefined,
      retries: undefined,
      protocol: "grpc",
      idempotency: true,
    },
    { key: w.alpha.manage },
  );
  const made = viaGrpc.response.route!;
  assert.deepEqual([made.protocol, made.idempotency], ["grpc", true]);
  const viaAdmin = await w.h.api("POST", "/admin/v1/tenants/beta/routes", {
    pathPrefix: "/bill.v1",
    protocol: "grpc",
    idempotency: true,
    upstreamId: upstreams.beta,
  });
  assert.equal(viaAdmin.status, 201, JSON.stringify(viaAdmin.body));
  assert.equal(viaAdmin.body.idempotency, true);
  const snapshot = await poll("the gRPC route to be published", async () => {
    const alpha = (await publishedSnapshot(w.h)).tenants.find((t) => t.id === "alpha");
    return alpha?.routes.some((r) => r.id === made.id) && alpha;
  });
  const compiled = snapshot.routes.find((r) => r.id === rest.body.id)!;
  assert.deepEqual([compiled.protocol, compiled.idempotency], ["grpc", true]);
});

test("what the schema cannot say is refused clearly and changes nothing", async () => {
  const noHosts = await routeOf("alpha", { pathPrefix: "/p1", public: true });
  assert.equal(noHosts.status, 400);
  assert.match(noHosts.body.detail, /a public route must name its hosts/);
  const clientOnPrivate = await routeOf("alpha", { pathPrefix: "/p2", clientLimits: { rate: 1, burst: 1 } });
  assert.match(clientOnPrivate.body.detail, /client limits apply to public routes only/);
  const badBucket = await routeOf("alpha", {
    pathPrefix: "/p4",
    hosts: ["p4.alpha.test"],
    public: true,
    clientLimits: { rate: 0, burst: 1 },
  });
  assert.equal(badBucket.status, 400);
  const routes = await w.rest(w.alpha.manage, "GET", "/v1/routes");
  assert.ok(!routes.body.items.some((r: { pathPrefix: string }) => /^\/p[1-4]$/.test(r.pathPrefix)));
});

test("attack: a tenant cannot make another tenant's host public, nor route on another tenant's public host", async () => {
  const betaPrivate = await routeOf("beta", { pathPrefix: "/", hosts: ["api.beta.test"] });
  assert.equal(betaPrivate.status, 201);
  const squat = await routeOf("alpha", { pathPrefix: "/", hosts: ["api.beta.test"], public: true });
  assert.deepEqual([squat.status, squat.body.code], [409, "CORRAL_TENANT_CONFLICT"]);
  assert.match(squat.body.detail, /host api\.beta\.test is used by another tenant's route/);
  assert.ok(!squat.body.detail.includes('beta"'), "the other tenant is not named");
  const alphaPublic = await routeOf("alpha", { pathPrefix: "/", hosts: ["www.alpha.test"], public: true });
  assert.equal(alphaPublic.status, 201);
  const onIt = await routeOf("beta", { pathPrefix: "/x", hosts: ["www.alpha.test"] });
  assert.deepEqual([onIt.status, onIt.body.code], [409, "CORRAL_TENANT_CONFLICT"]);
  const alsoPublic = await routeOf("beta", {
    pathPrefix: "/y",
    hosts: ["other.beta.test", "www.alpha.test"],
    public: true,
  });
  assert.equal(alsoPublic.status, 409);
  const ownSecond = await routeOf("alpha", { pathPrefix: "/api", hosts: ["www.alpha.test"], public: true });
  assert.equal(ownSecond.status, 201, "a tenant may have several public routes on its own host");
  const viaAdmin = await w.h.api("POST", "/admin/v1/tenants/beta/routes", {
    pathPrefix: "/z",
    hosts: ["www.alpha.test"],
    upstreamId: upstreams.beta,
  });
  assert.equal(viaAdmin.status, 409, "the admin API keeps the rule too");
});

test("concurrent claims of one host by two tenants: exactly one wins", async () => {
  const [a, b] = await Promise.all([
    routeOf("alpha", { pathPrefix: "/race", hosts: ["race.test"], public: true }),
    routeOf("beta", { pathPrefix: "/race", hosts: ["race.test"], public: true }),
  ]);
  assert.deepEqual([a.status, b.status].sort(), [201, 409]);
  const err = await callError(
    call(
      w.grpc,
      (c) => c.createRoute,
      {
        clientToken: "",
        pathPrefix: "/race2",
        hosts: ["race.test"],
        methods: [],
        upstreamId: (a.status === 201 ? upstreams.beta : upstreams.alpha)!,
        limits: undefined,
        clientLimits: undefined,
        public: true,
        retries: undefined,
      },
      { key: a.status === 201 ? w.beta.manage : w.alpha.manage },
    ),
  );
  assert.equal(corralCode(err), "CORRAL_TENANT_CONFLICT");
});

test("corral admin routes create takes --public, --idempotency and the client bucket", async () => {
  const out: string[] = [];
  const io = {
    out: (t: string) => out.push(t),
    err: (t: string) => out.push(t),
    env: {},
    cwd: process.cwd(),
  };
  const connection = ["--url", w.h.cp.url, "--token", w.h.adminToken];
  const args = [
    "routes",
    "create",
    "beta",
    "--path",
    "/cli",
    "--upstream",
    upstreams.beta!,
    "--host",
    "cli.beta.test",
  ];
  const code = await runAdmin(
    [...args, "--public", "--client-rate", "2.5", "--client-burst", "4", ...connection],
    io,
  );
  assert.equal(code, 0, out.join(""));
  const made = JSON.parse(out.join(""));
  assert.deepEqual(
    [made.public, made.clientLimits, made.idempotency],
    [true, { rate: 2.5, burst: 4 }, false],
  );
  const half = await runAdmin([...args, "--public", "--client-rate", "2", ...connection], io);
  assert.equal(half, 2, "--client-rate without --client-burst is a usage error");
  const idem = await runAdmin(
    [
      "routes",
      "create",
      "beta",
      "--path",
      "/cli-orders",
      "--upstream",
      upstreams.beta!,
      "--idempotency",
      ...connection,
    ],
    io,
  );
  assert.equal(idem, 0);
});

test("a host with a port is refused at the API (nodes ignore ports; the snapshot check would refuse it)", async () => {
  const res = await routeOf("alpha", { pathPrefix: "/port", hosts: ["www.alpha.test:8443"], public: true });
  assert.equal(res.status, 400);
  assert.equal(res.body.errors[0].path, "body/hosts/0");
});
