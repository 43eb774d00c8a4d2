/**
 * The CP refuses to publish every snapshot a node would refuse to apply: for each way a
 * snapshot can be broken, the CP's pre-publish check (control-plane/publish/consistency.ts)
 * reports a problem whenever the DP's pre-apply check (data-plane/config-client/
 * validate-snapshot.ts) throws. Before both ran proto/snapshot-consistency.ts, the CP let
 * bad methods, hosts, path prefixes, targets, timeouts, retries and ids through, and the
 * fleet found them by refusing the version.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Limits, Snapshot, type Tenant } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { snapshotProblems } from "../../control-plane/publish/consistency.ts";
import { validateSnapshot } from "../../data-plane/config-client/validate-snapshot.ts";
import * as fx from "../data-plane/fixtures.ts";

const valid: Tenant = {
  ...fx.tenant({
    id: "acme",
    upstream: "http://10.0.0.1:8080",
    keys: [{ id: "k1", hash: Buffer.alloc(32, 1) }],
  }),
  limits: Limits.fromPartial({ priority: "standard", shardSize: 1 }),
  shard: ["dp-0"],
};
const route = valid.routes[0]!;
const upstream = valid.upstreams[0]!;
const tenant = (over: Partial<Tenant> = {}): Tenant => ({ ...valid, ...over });

function snapshot(tenants: Tenant[], egressAllow: string[] = []): Snapshot {
  return Snapshot.fromPartial({
    version: 1,
    tenants,
    slots: [{ name: "dp-0", zone: "z" }],
    settings: { egressAllow },
  });
}

const BROKEN: ReadonlyArray<[string, Snapshot]> = [
  ["bad method", snapshot([tenant({ routes: [{ ...route, methods: ["G E T"] }] })])],
  ["bad host", snapshot([tenant({ routes: [{ ...route, hosts: ["a b"] }] })])],
  ["bad path prefix", snapshot([tenant({ routes: [{ ...route, pathPrefix: "/a b" }] })])],
  ["too many retries", snapshot([tenant({ routes: [{ ...route, retries: 11 }] })])],
  ["route timeout out of range", snapshot([tenant({ routes: [{ ...route, timeoutMs: 99_999_999 }] })])],
  ["bad route id", snapshot([tenant({ routes: [{ ...route, id: "../x" }] })])],
  ["unknown upstream", snapshot([tenant({ routes: [{ ...route, upstreamId: "nope" }] })])],
  ["unknown protocol", snapshot([tenant({ routes: [{ ...route, protocol: "ftp" }] })])],
  [
    "target with credentials",
    snapshot([tenant({ upstreams: [{ ...upstream, targets: ["http://u:p@h:1"] }] })]),
  ],
  ["target scheme", snapshot([tenant({ upstreams: [{ ...upstream, targets: ["ftp://h:1"] }] })])],
  ["too many targets", snapshot([tenant({ upstreams: [{ ...upstream, targets: Array(65).fill("h:1") }] })])],
  [
    "connect timeout out of range",
    snapshot([tenant({ upstreams: [{ ...upstream, connectTimeoutMs: -1 }] })]),
  ],
  ["bad tenant id", snapshot([tenant({ id: "Not A Slug" })])],
  ["unknown status", snapshot([tenant({ status: "deleted" })])],
  [
    "short key hash",
    snapshot([tenant({ keys: [{ id: "k1", hash: Buffer.alloc(31), scopes: [], quota: undefined }] })]),
  ],
  ["bad tenant egress entry", snapshot([tenant({ egressAllow: ["not a cidr/99"] })])],
  ["bad fleet egress entry", snapshot([tenant()], ["not a cidr/99"])],
  ["tenant twice", snapshot([tenant(), tenant()])],
  ["unknown shard member", snapshot([tenant({ shard: ["dp-9"] })])],
];

test("the valid snapshot passes both checks", () => {
  assert.deepEqual(snapshotProblems(snapshot([tenant()])), []);
  validateSnapshot(snapshot([tenant()]));
});

for (const [name, broken] of BROKEN) {
  test(`${name}: the node refuses it, and the CP will not publish it`, () => {
    assert.throws(() => validateSnapshot(broken), { code: "CORRAL_DP_CONFIG_INVALID" });
    assert.notDeepEqual(snapshotProblems(broken), [], "the CP check found nothing");
  });
}
