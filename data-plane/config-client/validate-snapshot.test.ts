import { DEFAULT_HEALTH_CHECK, DEFAULT_OUTLIER } from "../../proto/upstream-policy.ts";
import assert from "node:assert/strict";
import { test } from "node:test";
import { Limits, Snapshot, type Tenant } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { STREAMING_UNSET } from "../../proto/route-streaming.ts";
import { ConfigApplyError } from "../errors.ts";
import { normalizePathPrefix, parseTarget, plainTenant, validateSnapshot } from "./validate-snapshot.ts";

function tenant(over: Partial<Tenant> = {}): Tenant {
  return {
    id: "acme",
    name: "Acme",
    status: "active",
    plan: "standard",
    egressAllow: [],
    limits: undefined,
    shard: [],
    keys: [{ id: "k1", hash: Buffer.alloc(32, 1), scopes: ["invoke"], quota: undefined }],
    routes: [
      {
        id: "r1",
        hosts: ["API.Example.com"],
        pathPrefix: "/api/",
        methods: ["get"],
        upstreamId: "u1",
        timeoutMs: 0,
        protocol: "",
        public: false,
        limits: undefined,
        idempotency: false,
        retries: 0,
        stripPrefix: false,
        retryStatuses: [],
        ...STREAMING_UNSET,
        clientRate: 0,
        clientBurst: 0,
      },
    ],
    upstreams: [
      {
        id: "u1",
        name: "api",
        targets: ["http://10.0.0.1:8080/base/", "10.0.0.2:9000"],
        connectTimeoutMs: 0,
        retryBudgetPercent: 0,
        retryBudgetMinPerSecond: 0,
        retryBudgetWindowMs: 0,
        weights: [],
        healthCheck: undefined,
        outlier: undefined,
      },
    ],
    ...over,
  };
}

function snap(tenants: Tenant[], slots: string[] = []): Snapshot {
  return Snapshot.fromPartial({ version: 1, tenants, slots: slots.map((name) => ({ name, zone: "z" })) });
}

function invalid(s: Snapshot, pattern: RegExp): void {
  assert.throws(
    () => validateSnapshot(s),
    (err: unknown) =>
      err instanceof ConfigApplyError && err.code === "CORRAL_DP_CONFIG_INVALID" && pattern.test(err.message),
  );
}

test("a valid snapshot comes out normalised with defaults applied", () => {
  validateSnapshot(snap([tenant()]));
  const t = plainTenant(tenant());
  assert.deepEqual(t.keys, [{ id: "k1", invoke: true }]);
  const r = t.routes[0]!;
  assert.deepEqual(
    [r.hosts, r.pathPrefix, r.methods, r.timeoutMs, r.protocol],
    [["api.example.com"], "/api", ["GET"], 15000, "http"],
  );
  assert.deepEqual(t.upstreams[0]!.targets, [
    {
      url: "http://10.0.0.1:8080/base/",
      origin: "http://10.0.0.1:8080",
      basePath: "/base",
      weight: 1,
      key: "acme/u1 http://10.0.0.1:8080",
    },
    {
      url: "10.0.0.2:9000",
      origin: "http://10.0.0.2:9000",
      basePath: "",
      weight: 1,
      key: "acme/u1 http://10.0.0.2:9000",
    },
  ]);
  assert.deepEqual(t.upstreams[0]!.targetKeys, [
    "acme/u1 http://10.0.0.1:8080",
    "acme/u1 http://10.0.0.2:9000",
  ]);
  assert.deepEqual(t.upstreams[0]!.outlier, DEFAULT_OUTLIER, "no outlier settings: the defaults");
  assert.equal(t.upstreams[0]!.connectTimeoutMs, 5000);
  assert.deepEqual(r.retryStatuses, [502, 503, 504]);
  assert.deepEqual(t.upstreams[0]!.retryBudget, { ratio: 0.1, floorPerSecond: 3, windowMs: 10_000 });
  const set = plainTenant(
    tenant({
      routes: [{ ...tenant().routes[0]!, protocol: "grpc", retries: 2 }],
      upstreams: [
        {
          ...tenant().upstreams[0]!,
          retryBudgetPercent: 20,
          retryBudgetMinPerSecond: 0,
          retryBudgetWindowMs: 5000,
        },
      ],
    }),
  );
  assert.deepEqual([set.routes[0]!.retries, set.routes[0]!.retryStatuses], [2, [14]]);
  assert.deepEqual(set.upstreams[0]!.retryBudget, { ratio: 0.2, floorPerSecond: 0, windowMs: 5000 });
});

test("every reference must resolve and nothing may repeat", () => {
  const base = tenant();
  invalid(
    snap([tenant({ routes: [{ ...base.routes[0]!, upstreamId: "nope" }] })]),
    /unknown upstream "nope"/,
  );
  invalid(snap([tenant(), tenant()]), /appears twice/);
  invalid(
    snap([tenant({ upstreams: [...base.upstreams, ...base.upstreams] })]),
    /upstream id "u1" appears twice/,
  );
  invalid(snap([tenant({ shard: ["dp-9"] })], ["dp-0"]), /unknown slot dp-9/);
  validateSnapshot(snap([tenant({ shard: ["dp-0"] })], ["dp-0"]));
  validateSnapshot(snap([tenant({ shard: ["dp-7"] })]));
});

test("bad values are refused with where they are", () => {
  const r = tenant().routes[0]!;
  invalid(snap([tenant({ status: "deleted" })]), /tenant "acme": unknown status/);
  invalid(snap([tenant({ id: "Not A Slug" })]), /bad id/);
  invalid(
    snap([tenant({ keys: [{ id: "k1", hash: Buffer.alloc(31), scopes: [], quota: undefined }] })]),
    /31 bytes/,
  );
  invalid(snap([tenant({ routes: [{ ...r, pathPrefix: "api" }] })]), /route "r1": bad path prefix/);
  invalid(snap([tenant({ routes: [{ ...r, methods: ["G E T"] }] })]), /bad method/);
  invalid(snap([tenant({ routes: [{ ...r, protocol: "ftp" }] })]), /unknown protocol/);
  invalid(snap([tenant({ routes: [{ ...r, timeoutMs: 99_999_999 }] })]), /out of range/);
  invalid(snap([tenant({ routes: [{ ...r, retries: 11 }] })]), /11 retries/);
  invalid(snap([tenant({ routes: [{ ...r, retryStatuses: [200] }] })]), /retry statuses 200 outside 400-599/);
  invalid(snap([tenant({ routes: [{ ...r, protocol: "grpc", retryStatuses: [503] }] })]), /outside 1-16/);
  invalid(snap([tenant({ routes: [{ ...r, retryStatuses: Array(17).fill(503) }] })]), /17 retry statuses/);
  const u = tenant().upstreams[0]!;
  invalid(snap([tenant({ upstreams: [{ ...u, retryBudgetPercent: 101 }] })]), /retry budget 101 %/);
  invalid(snap([tenant({ upstreams: [{ ...u, retryBudgetMinPerSecond: 1001 }] })]), /floor 1001/);
  invalid(snap([tenant({ upstreams: [{ ...u, retryBudgetWindowMs: 500 }] })]), /window 500 ms/);
  invalid(snap([tenant({ upstreams: [{ ...tenant().upstreams[0]!, targets: ["ftp://x"] }] })]), /scheme/);
});

test("period quotas: a known period, an offset within it, a whole limit; keys keep theirs", () => {
  const quota = { limit: 1000, period: "day", offsetMs: 6 * 3_600_000 };
  const key = (q: typeof quota) => ({ id: "k1", hash: Buffer.alloc(32, 1), scopes: ["invoke"], quota: q });
  const limits = (q: typeof quota) => Limits.fromPartial({ quota: q });
  validateSnapshot(snap([tenant({ limits: limits(quota), keys: [key(quota)] })]));
  assert.deepEqual(plainTenant(tenant({ keys: [key(quota)] })).keys, [{ id: "k1", invoke: true, quota }]);
  invalid(
    snap([tenant({ limits: limits({ ...quota, period: "year" }) })]),
    /tenant "acme": unknown quota period "year"/,
  );
  invalid(snap([tenant({ limits: limits({ ...quota, offsetMs: 86_400_000 }) })]), /offset for a day period/);
  invalid(snap([tenant({ keys: [key({ ...quota, offsetMs: -1 })] })]), /key "k1": quota offset/);
  invalid(snap([tenant({ keys: [key({ ...quota, limit: 0.5 })] })]), /quota limit 0.5 is not a count/);
  assert.throws(() => plainTenant(tenant({ keys: [key({ ...quota, period: "" })] })), /unknown quota period/);
});

test("targets and prefixes normalise", () => {
  assert.equal(normalizePathPrefix("/"), "/");
  assert.equal(normalizePathPrefix("//"), "/");
  assert.equal(normalizePathPrefix("/a/b/"), "/a/b");
  assert.throws(() => parseTarget("u", "http://user:pw@h:1"), /credentials/);
  assert.throws(() => parseTarget("u", "http://[bad"), /not a URL/);
});

test("public routes name hosts, a public host belongs to one tenant, client buckets are bounded", () => {
  const base = tenant().routes[0]!;
  const publicRoute = { ...base, public: true, hosts: ["shop.example.com"] };
  validateSnapshot(snap([tenant({ routes: [publicRoute, { ...publicRoute, id: "r2" }] })]));
  invalid(snap([tenant({ routes: [{ ...publicRoute, hosts: [] }] })]), /a public route must name its hosts/);
  invalid(
    snap([tenant({ routes: [publicRoute] }), tenant({ id: "other", keys: [], routes: [publicRoute] })]),
    /public host "shop.example.com" is public for tenant "acme" too/,
  );
  for (const [clientRate, clientBurst] of [
    [-1, 1],
    [1, Number.NaN],
    [2e6, 1],
    [1, 2e7],
  ])
    invalid(
      snap([tenant({ routes: [{ ...publicRoute, clientRate: clientRate!, clientBurst: clientBurst! }] })]),
      /client bucket/,
    );
});

test("an upstream's weights, health check and outlier settings must be within their bounds", () => {
  const base = tenant().upstreams[0]!;
  const withUpstream = (over: Partial<typeof base>) => snap([tenant({ upstreams: [{ ...base, ...over }] })]);
  const check = { ...DEFAULT_HEALTH_CHECK };
  invalid(withUpstream({ weights: [1] }), /1 weights for 2 targets/);
  invalid(withUpstream({ weights: [0, 1] }), /weight 0 out of range 1\.\.100/);
  invalid(withUpstream({ healthCheck: { ...check, intervalMs: 10 } }), /intervalMs 10 out of range/);
  invalid(
    withUpstream({ healthCheck: { ...check, intervalMs: 1_000, timeoutMs: 2_000 } }),
    /exceeds its interval/,
  );
  invalid(withUpstream({ healthCheck: { ...check, path: "no-slash" } }), /bad health check path/);
  invalid(withUpstream({ healthCheck: { ...check, unhealthyThreshold: 0 } }), /unhealthyThreshold 0/);
  invalid(withUpstream({ outlier: { ...DEFAULT_OUTLIER, maxEjectedPercent: 101 } }), /maxEjectedPercent 101/);
  invalid(
    withUpstream({ outlier: { ...DEFAULT_OUTLIER, maxEjectionMs: 200, baseEjectionMs: 300 } }),
    /below the base/,
  );
  const ok = plainTenant(
    tenant({
      upstreams: [
        { ...base, weights: [3, 1], healthCheck: check, outlier: { ...DEFAULT_OUTLIER, slowStartMs: 0 } },
      ],
    }),
  ).upstreams[0]!;
  assert.deepEqual(
    ok.targets.map((t) => t.weight),
    [3, 1],
  );
  assert.equal(ok.outlier.slowStartMs, 0);
  assert.deepEqual(ok.healthCheck, check);
});
