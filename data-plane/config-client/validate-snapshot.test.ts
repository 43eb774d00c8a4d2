import assert from "node:assert/strict";
import { test } from "node:test";
import { Snapshot, type Tenant } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
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
    { url: "http://10.0.0.1:8080/base/", origin: "http://10.0.0.1:8080", basePath: "/base" },
    { url: "10.0.0.2:9000", origin: "http://10.0.0.2:9000", basePath: "" },
  ]);
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
  invalid(
    snap([
      tenant({
        upstreams: [
          {
            id: "u1",
            name: "",
            targets: ["ftp://x"],
            connectTimeoutMs: 0,
            retryBudgetPercent: 0,
            retryBudgetMinPerSecond: 0,
            retryBudgetWindowMs: 0,
          },
        ],
      }),
    ]),
    /scheme/,
  );
});

test("targets and prefixes normalise", () => {
  assert.equal(normalizePathPrefix("/"), "/");
  assert.equal(normalizePathPrefix("//"), "/");
  assert.equal(normalizePathPrefix("/a/b/"), "/a/b");
  assert.throws(() => parseTarget("u", "http://user:pw@h:1"), /credentials/);
  assert.throws(() => parseTarget("u", "http://[bad"), /not a URL/);
});
