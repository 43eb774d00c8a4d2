/**
 * An upstream's traffic policy (weights, active health check, outlier ejection) end to end on
 * the control plane: the admin REST API and `corral admin` store it with the defaults filled,
 * refuse values outside their bounds (changing nothing), and the published snapshot carries it.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { runAdmin } from "../../bin/admin/admin-cli.ts";
import { LATEST_KEY, parsePointer } from "../../proto/blob-keys.ts";
import { decodeSnapshot } from "../../proto/snapshot-codec.ts";
import { DEFAULT_OUTLIER } from "../../proto/upstream-policy.ts";
import { egressAllowFor } from "../support/egress.ts";
import { poll } from "../support/poll.ts";
import { type Harness, startHarness } from "./harness.ts";

let h: Harness;
before(async () => {
  h = await startHarness();
  await h.api("POST", "/admin/v1/tenants", {
    id: "pol",
    name: "Policy",
    egressAllow: egressAllowFor("127.0.0.1:9001", "127.0.0.1:9002"),
  });
});
after(() => h.close());

const TARGETS = ["http://127.0.0.1:9001", "http://127.0.0.1:9002"];

async function published(upstreamId: string) {
  const capacity = Number(h.env.CORRAL_SNAPSHOT_CAPACITY);
  return poll(`upstream ${upstreamId} in a published snapshot`, async () => {
    const pointer = parsePointer(await h.blobs.get(LATEST_KEY, 4096));
    const snapshot = decodeSnapshot(await h.blobs.get(pointer.key, capacity), h.publicKey, capacity);
    return snapshot.tenants.find((t) => t.id === "pol")?.upstreams.find((u) => u.id === upstreamId);
  });
}

test("weights, a health check and outlier settings are stored with defaults and published", async () => {
  const res = await h.api("POST", "/admin/v1/tenants/pol/upstreams", {
    name: "weighted",
    targets: TARGETS,
    weights: [3, 1],
    healthCheck: { protocol: "http", path: "/healthz", intervalMs: 2_000 },
    outlier: { consecutiveFailures: 3, maxEjectedPercent: 100 },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.deepEqual(res.body.weights, [3, 1]);
  assert.deepEqual(res.body.healthCheck, {
    protocol: "http",
    path: "/healthz",
    service: "",
    intervalMs: 2_000,
    timeoutMs: 2_000,
    healthyThreshold: 2,
    unhealthyThreshold: 3,
  });
  assert.deepEqual(res.body.outlier, { ...DEFAULT_OUTLIER, consecutiveFailures: 3, maxEjectedPercent: 100 });
  const plain = await h.api("POST", "/admin/v1/tenants/pol/upstreams", { name: "plain", targets: TARGETS });
  assert.equal(plain.body.weights, null);
  assert.equal(plain.body.healthCheck, null);
  assert.deepEqual(plain.body.outlier, DEFAULT_OUTLIER);

  const up = await published(res.body.id);
  assert.deepEqual(up.weights, [3, 1]);
  assert.deepEqual(up.healthCheck, {
    path: "/healthz",
    grpc: false,
    grpcService: "",
    intervalMs: 2_000,
    timeoutMs: 2_000,
    healthyThreshold: 2,
    unhealthyThreshold: 3,
  });
  assert.deepEqual(up.outlier, { ...DEFAULT_OUTLIER, consecutiveFailures: 3, maxEjectedPercent: 100 });
});

test("attack: values outside their bounds or inconsistent are refused with where, and nothing changes", async () => {
  const before = (await h.api("GET", "/admin/v1/tenants/pol/upstreams")).body.items.length;
  const cases: [unknown, string][] = [
    [{ weights: [1] }, "body/weights"],
    [{ weights: [0, 1] }, "body/weights/0"],
    [{ weights: [1, 101] }, "body/weights/1"],
    [{ healthCheck: { protocol: "http", intervalMs: 10 } }, "body/healthCheck/intervalMs"],
    [
      { healthCheck: { protocol: "http", intervalMs: 1_000, timeoutMs: 5_000 } },
      "body/healthCheck/timeoutMs",
    ],
    [{ healthCheck: { protocol: "http", path: "/x\r\nHost: evil" } }, "body/healthCheck/path"],
    [{ healthCheck: { protocol: "http", path: "relative" } }, "body/healthCheck/path"],
    [{ healthCheck: { protocol: "smtp" } }, "body/healthCheck/protocol"],
    [{ healthCheck: { protocol: "grpc", service: "a b" } }, "body/healthCheck/service"],
    [{ healthCheck: { protocol: "http", healthyThreshold: 1_000 } }, "body/healthCheck/healthyThreshold"],
    [{ outlier: { consecutiveFailures: 0 } }, "body/outlier/consecutiveFailures"],
    [{ outlier: { maxEjectedPercent: 101 } }, "body/outlier/maxEjectedPercent"],
    [{ outlier: { baseEjectionMs: 10_000, maxEjectionMs: 1_000 } }, "body/outlier/maxEjectionMs"],
    [{ outlier: { slowStartMs: 86_400_000 } }, "body/outlier/slowStartMs"],
    [{ outlier: { extra: 1 } }, "body/outlier"],
  ];
  for (const [policy, path] of cases) {
    const res = await h.api("POST", "/admin/v1/tenants/pol/upstreams", {
      name: "bad",
      targets: TARGETS,
      ...(policy as object),
    });
    assert.equal(res.status, 400, `${JSON.stringify(policy)}: ${res.status}`);
    assert.equal(res.body.code, "CORRAL_ADMIN_VALIDATION");
    assert.ok(
      res.body.errors.some((e: { path: string }) => e.path.startsWith(path)),
      `${JSON.stringify(policy)}: ${JSON.stringify(res.body.errors)}`,
    );
  }
  assert.equal((await h.api("GET", "/admin/v1/tenants/pol/upstreams")).body.items.length, before);
});

test("corral admin upstreams create takes the policy as flags", async () => {
  let out = "";
  const io = { out: (t: string) => (out += t), err: (t: string) => (out += t), env: {}, cwd: process.cwd() };
  const code = await runAdmin(
    [
      ...["--url", h.cp.url, "--token", h.adminToken, "upstreams", "create", "pol", "--name", "cli"],
      ...["--target", TARGETS[0]!, "--target", TARGETS[1]!, "--weight", "5", "--weight", "1"],
      ...["--health-check", "grpc", "--health-service", "shop.Cart", "--unhealthy-threshold", "4"],
      ...["--eject-after", "2", "--slow-start-ms", "0"],
    ],
    io,
  );
  assert.equal(code, 0, out);
  const created = JSON.parse(out);
  assert.deepEqual(created.weights, [5, 1]);
  assert.equal(created.healthCheck.protocol, "grpc");
  assert.equal(created.healthCheck.service, "shop.Cart");
  assert.equal(created.healthCheck.unhealthyThreshold, 4);
  assert.equal(created.outlier.consecutiveFailures, 2);
  assert.equal(created.outlier.slowStartMs, 0);
  const up = await published(created.id);
  assert.equal(up.healthCheck?.grpc, true);
  assert.equal(up.healthCheck?.grpcService, "shop.Cart");

  out = "";
  const usage = await runAdmin(
    [
      "--url",
      h.cp.url,
      "--token",
      h.adminToken,
      "upstreams",
      "create",
      "pol",
      "--name",
      "x",
      "--health-path",
      "/h",
    ],
    io,
  );
  assert.notEqual(usage, 0);
  assert.match(out, /--health-check http\|grpc is required/);
});
