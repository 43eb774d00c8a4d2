import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { Snapshot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import type { CorralError } from "../errors.ts";
import type { FleetRows } from "../store/fleet-rows.ts";
import type { NodeRow } from "../store/nodes.ts";
import type { TenantRow } from "../store/tenants.ts";
import { effectiveShardSize } from "../placement/index.ts";
import { compileSnapshot } from "./compile.ts";
import { ROWS_T0, tenantRow } from "./test-rows.ts";

const T0 = ROWS_T0;
const NOW = T0.getTime() + 3_600_000;
const opts = { version: 7, epoch: 2, createdAtMs: NOW, nowMs: NOW };
const hash = (s: string) => createHash("sha256").update(s).digest();

const tenant = tenantRow;

function node(slot: string, lastSeenAgoMs: number, connected = true): NodeRow {
  return {
    slot,
    zone: "zone-a",
    node_id: `${slot}-node`,
    http_url: `http://127.0.0.1:1/${slot}`,
    grpc_address: "",
    build: "",
    applied_version: 0,
    last_seen: new Date(NOW - lastSeenAgoMs),
    last_error: null,
    status: null,
    connected_cp: connected ? "cp-1" : null,
    connection_id: connected ? "c" : null,
    first_seen: T0,
  };
}

function fleet(): FleetRows {
  return {
    plans: [
      { name: "standard", rate: 100, burst: 200, concurrency: 50, priority: "standard", shard_size: 3 },
      { name: "free", rate: 10, burst: 20, concurrency: 5, priority: "batch", shard_size: 2 },
    ],
    tenants: [tenant("beta", { plan: "free", rate: 15, shard_size: 1 }), tenant("acme")],
    keys: [
      { id: "k2", tenant_id: "acme", hash: hash("two"), scopes: ["invoke"], revoked_at: null },
      { id: "k1", tenant_id: "acme", hash: hash("one"), scopes: ["invoke", "manage"], revoked_at: null },
      { id: "k3", tenant_id: "acme", hash: hash("three"), scopes: ["invoke"], revoked_at: T0 },
    ],
    upstreams: [
      {
        id: "up1",
        tenant_id: "acme",
        name: "api",
        targets: ["http://127.0.0.1:9"],
        connect_timeout_ms: 500,
        retry_budget_percent: 10,
        retry_budget_min_per_second: 3,
        retry_budget_window_ms: 10_000,
        weights: [3],
        health_check: {
          protocol: "http",
          path: "/health",
          service: "",
          intervalMs: 5_000,
          timeoutMs: 1_000,
          healthyThreshold: 2,
          unhealthyThreshold: 3,
        },
        outlier: null,
        created_at: T0,
      },
    ],
    routes: [
      {
        id: "rt1",
        tenant_id: "acme",
        path_prefix: "/v1",
        hosts: ["api.acme.test"],
        methods: ["GET"],
        upstream_id: "up1",
        timeout_ms: 1500,
        protocol: "http",
        strip_prefix: true,
        websocket: true,
        websocket_idle_timeout_ms: 30_000,
        websocket_max_connections: null,
        stream_idle_timeout_ms: null,
        websocket_max_message_bytes: 4096,
        rate: null,
        burst: null,
        retry_attempts: 2,
        retry_statuses: [503],
        public: false,
        idempotency: false,
        client_rate: null,
        client_burst: null,
        created_at: T0,
      },
    ],
    nodes: [
      node("dp-1", 1_000),
      node("dp-0", 120_000),
      node("dp-gone", 3_600_000),
      node("dp-2", 1_000, false),
    ],
  };
}

test("limits come from the plan, overridden per tenant", () => {
  const s = compileSnapshot(fleet(), opts);
  const [acme, beta] = s.tenants;
  assert.deepEqual(acme!.limits, {
    rate: 100,
    burst: 200,
    concurrency: 50,
    priority: "standard",
    shardSize: 3,
    shadow: false,
    disabled: false,
    quota: undefined,
  });
  assert.equal(beta!.limits!.rate, 15);
  assert.equal(beta!.limits!.burst, 20);
  assert.equal(beta!.limits!.priority, "batch");
  assert.equal(beta!.limits!.shardSize, 1);
});

test("only non-revoked keys travel, as hashes, sorted by id", () => {
  const acme = compileSnapshot(fleet(), opts).tenants.find((t) => t.id === "acme")!;
  assert.deepEqual(
    acme.keys.map((k) => k.id),
    ["k1", "k2"],
  );
  assert.deepEqual(Buffer.from(acme.keys[0]!.hash), hash("one"));
  assert.deepEqual(acme.keys[0]!.scopes, ["invoke", "manage"]);
});

test("routes and upstreams are copied with their settings", () => {
  const acme = compileSnapshot(fleet(), opts).tenants.find((t) => t.id === "acme")!;
  assert.equal(acme.routes[0]!.pathPrefix, "/v1");
  assert.deepEqual(acme.routes[0]!.hosts, ["api.acme.test"]);
  assert.equal(acme.routes[0]!.timeoutMs, 1500);
  assert.equal(acme.routes[0]!.stripPrefix, true);
  assert.deepEqual([acme.routes[0]!.retries, acme.routes[0]!.retryStatuses], [2, [503]]);
  // streaming settings: set ones travel, unset ones are 0 (the node's default)
  assert.equal(acme.routes[0]!.websocket, true);
  assert.equal(acme.routes[0]!.websocketIdleTimeoutMs, 30_000);
  assert.equal(acme.routes[0]!.websocketMaxConnections, 0);
  assert.equal(acme.routes[0]!.websocketMaxMessageBytes, 4096);
  assert.deepEqual(acme.upstreams[0], {
    id: "up1",
    name: "api",
    targets: ["http://127.0.0.1:9"],
    connectTimeoutMs: 500,
    retryBudgetPercent: 10,
    retryBudgetMinPerSecond: 3,
    retryBudgetWindowMs: 10_000,
    weights: [3],
    healthCheck: {
      path: "/health",
      grpc: false,
      grpcService: "",
      intervalMs: 5_000,
      timeoutMs: 1_000,
      healthyThreshold: 2,
      unhealthyThreshold: 3,
    },
    outlier: undefined,
  });
});

test("slots: forgotten after the forget delay, live only when connected and recently seen", () => {
  const s = compileSnapshot(fleet(), opts);
  assert.deepEqual(
    s.slots.map((x) => [x.name, x.live]),
    [
      ["dp-0", false],
      ["dp-1", true],
      ["dp-2", false],
    ],
  );
});

test("the same rows in any order compile to the same bytes", () => {
  const a = fleet();
  const b = fleet();
  b.tenants.reverse();
  b.keys.reverse();
  b.nodes.reverse();
  assert.deepEqual(
    Buffer.from(Snapshot.encode(compileSnapshot(a, opts)).finish()),
    Buffer.from(Snapshot.encode(compileSnapshot(b, opts)).finish()),
  );
});

test("a route whose upstream does not exist is refused before publishing", () => {
  const rows = fleet();
  rows.routes[0]!.upstream_id = "up-missing";
  assert.throws(
    () => compileSnapshot(rows, opts),
    (err: CorralError) =>
      err.code === "CORRAL_SNAPSHOT_INCONSISTENT" &&
      /route "rt1": references unknown upstream "up-missing"/.test(err.message),
  );
});

test("rows of a tenant that does not exist, duplicate key hashes and unknown plans are refused", () => {
  const cases: Array<[string, (r: FleetRows) => void, RegExp]> = [
    [
      "orphan key",
      (r) => r.keys.push({ ...r.keys[0]!, id: "k9", tenant_id: "ghost", hash: hash("9") }),
      /tenant ghost/,
    ],
    ["duplicate hash", (r) => r.keys.push({ ...r.keys[0]!, id: "k9" }), /duplicate hash/],
    ["unknown plan", (r) => (r.tenants[0]!.plan = "gold"), /plan gold/],
    [
      "duplicate upstream",
      (r) => r.upstreams.push({ ...r.upstreams[0]! }),
      /upstream id "up1" appears twice/,
    ],
  ];
  for (const [name, mutate, expected] of cases) {
    const rows = fleet();
    mutate(rows);
    assert.throws(() => compileSnapshot(rows, opts), expected, name);
  }
});

test("the placement hook fills shards, and a shard member must be a slot", () => {
  const s = compileSnapshot(fleet(), {
    ...opts,
    shardOf: (t, slots) => slots.slice(0, t.shardSize).map((x) => x.name),
  });
  assert.deepEqual(s.tenants[0]!.shard, ["dp-0", "dp-1", "dp-2"]);
  assert.throws(
    () => compileSnapshot(fleet(), { ...opts, shardOf: () => ["dp-9"] }),
    /shard names unknown slot dp-9/,
  );
});

test("the fleet's hop key travels in the settings", () => {
  const hopKey = Buffer.alloc(32, 7);
  assert.deepEqual(compileSnapshot(fleet(), { ...opts, hopKey }).settings?.hopKey, hopKey);
});

test("without a placement hook shards are empty and settings default", () => {
  const s = compileSnapshot(fleet(), opts);
  assert.deepEqual(s.tenants[0]!.shard, []);
  assert.equal(s.version, 7);
  assert.equal(s.epoch, 2);
  assert.deepEqual(s.settings, {
    strictPlacement: false,
    admission: {
      maxInflight: 0,
      maxEventLoopDelayMs: 0,
      shedShadow: false,
      shedDisabled: false,
      rateShadow: false,
      rateDisabled: false,
      quotaShadow: false,
      quotaDisabled: false,
    },
    egressAllow: [],
    hopKey: Buffer.alloc(0),
  });
  assert.deepEqual(s.tenants[0]!.egressAllow, []);
});

test("the fleet's and each tenant's egress exceptions travel as stored", () => {
  const rows = fleet();
  rows.egressAllow = ["10.1.0.0/16", "127.0.0.1:3000"];
  const [open, other] = rows.tenants as [TenantRow, TenantRow];
  open.egress_allow = ["api.internal"];
  const s = compileSnapshot(rows, opts);
  const compiled = (id: string) => s.tenants.find((t) => t.id === id)!;
  assert.deepEqual(s.settings?.egressAllow, ["10.1.0.0/16", "127.0.0.1:3000"]);
  assert.deepEqual(compiled(open.id).egressAllow, ["api.internal"]);
  assert.deepEqual(compiled(other.id).egressAllow, []);
});

test("strict placement and admission settings travel as configured", () => {
  const rows = fleet();
  rows.admission = {
    maxInflight: 500,
    maxEventLoopDelayMs: 80,
    shedShadow: true,
    shedDisabled: false,
    rateShadow: false,
    rateDisabled: true,
    quotaShadow: false,
    quotaDisabled: false,
  };
  const s = compileSnapshot(rows, { ...opts, strictPlacement: true });
  assert.equal(s.settings!.strictPlacement, true);
  assert.deepEqual(s.settings!.admission, rows.admission);
});

test("k is capped by the fleet size and MAX_SHARD_SIZE, never below 1", () => {
  assert.equal(effectiveShardSize(3, 10), 3);
  assert.equal(effectiveShardSize(5, 2), 2);
  assert.equal(effectiveShardSize(5, 0), 1);
  assert.equal(effectiveShardSize(0, 10), 1);
  assert.equal(effectiveShardSize(500, 1000), 64);
  const rows = fleet();
  rows.tenants[1]!.shard_size = 10;
  const acme = compileSnapshot(rows, {
    ...opts,
    shardOf: (t, slots) => slots.slice(0, t.shardSize).map((x) => x.name),
  }).tenants.find((t) => t.id === "acme")!;
  assert.equal(acme.limits!.shardSize, 10, "limits keep the configured k");
  assert.equal(acme.shard.length, 3, "the shard has N = 3 members");
  rows.tenants[1]!.shard_size = 1000;
  assert.equal(compileSnapshot(rows, opts).tenants[0]!.limits!.shardSize, 64);
});

test("shadow mode and kill switch are per-tenant overrides, off by default", () => {
  const rows = fleet();
  rows.tenants[0]!.limits_shadow = true;
  rows.tenants[1]!.limits_disabled = true;
  const [acme, beta] = compileSnapshot(rows, opts).tenants;
  assert.deepEqual([acme!.limits!.shadow, acme!.limits!.disabled], [false, true]);
  assert.deepEqual([beta!.limits!.shadow, beta!.limits!.disabled], [true, false]);
});

test("a route bucket travels as the route's limits; none when unset", () => {
  const rows = fleet();
  assert.equal(compileSnapshot(rows, opts).tenants[0]!.routes[0]!.limits, undefined);
  rows.routes[0]!.rate = 5;
  rows.routes[0]!.burst = 10;
  const route = compileSnapshot(rows, opts).tenants[0]!.routes[0]!;
  assert.deepEqual([route.limits!.rate, route.limits!.burst], [5, 10]);
});

test("declared slots are in the fleet before any node connects; the declaration's zone wins", () => {
  const rows = fleet();
  const declared = (name: string, zone: string, url = "") => ({
    name,
    zone,
    http_url: url,
    grpc_address: "",
    created_at: T0,
    updated_at: T0,
  });
  rows.declaredSlots = [declared("dp-9", "zone-c", "http://10.0.0.9:7500"), declared("dp-gone", "zone-b")];
  let told: readonly { name: string }[] = [];
  const s = compileSnapshot(rows, { ...opts, onSlots: (slots) => (told = slots) });
  assert.deepEqual(
    s.slots.map((x) => [x.name, x.zone, x.live]),
    [
      ["dp-0", "zone-a", false],
      ["dp-1", "zone-a", true],
      ["dp-2", "zone-a", false],
      ["dp-9", "zone-c", false],
      ["dp-gone", "zone-b", false],
    ],
  );
  assert.equal(s.slots.find((x) => x.name === "dp-9")!.httpUrl, "http://10.0.0.9:7500");
  assert.equal(told, s.slots);
});

test("liveness and forgetting use the database clock when the rows carry it", () => {
  const rows = fleet();
  rows.dbNowMs = NOW - 3_600_000 + 1_000;
  const s = compileSnapshot(rows, opts);
  assert.ok(s.slots.some((x) => x.name === "dp-gone" && x.live));
});
