import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { hashApiKey } from "../../proto/api-key.ts";
import { LATEST_KEY, parsePointer, snapshotKey } from "../../proto/blob-keys.ts";
import { decodeSnapshot, HEADER_SIZE, sha256Hex } from "../../proto/snapshot-codec.ts";
import { type Harness, startHarness } from "./harness.ts";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const capacity = () => Number(h.env.CORRAL_SNAPSHOT_CAPACITY);

async function latest() {
  const pointer = parsePointer(await h.blobs.get(LATEST_KEY, 4096));
  const blob = await h.blobs.get(pointer.key, capacity());
  return { pointer, blob, snapshot: decodeSnapshot(blob, h.publicKey, capacity()) };
}

test("the first start publishes version 1 of an empty fleet", async () => {
  const { pointer, snapshot } = await latest();
  assert.equal(pointer.version, 1);
  assert.deepEqual(snapshot.tenants, []);
  const versions = await h.api("GET", "/admin/v1/config/versions");
  assert.equal(versions.body.items[0].source, "startup");
});

test("a change publishes a signed, constant-size blob and then points LATEST at it", async () => {
  const before = (await latest()).pointer.version;
  await h.api("POST", "/admin/v1/tenants", { id: "pub", name: "Pub", plan: "free", limits: { burst: 99 } });
  const key = await h.api("POST", "/admin/v1/tenants/pub/keys", { scopes: ["invoke"] });
  const up = await h.api("POST", "/admin/v1/tenants/pub/upstreams", {
    name: "api",
    targets: ["http://127.0.0.1:9"],
  });
  const route = await h.api("POST", "/admin/v1/tenants/pub/routes", {
    pathPrefix: "/api",
    upstreamId: up.body.id,
  });
  await h.cp.publisher.idle();

  const { pointer, blob, snapshot } = await latest();
  assert.ok(pointer.version > before);
  assert.equal(pointer.key, snapshotKey(pointer.version));
  assert.equal(blob.length, capacity());
  assert.equal(sha256Hex(blob), pointer.sha256);
  assert.equal(snapshot.version, pointer.version);
  assert.equal(snapshot.epoch, 1);
  const tenant = snapshot.tenants.find((t) => t.id === "pub")!;
  assert.equal(tenant.plan, "free");
  assert.deepEqual(
    [tenant.limits!.rate, tenant.limits!.burst, tenant.limits!.priority, tenant.limits!.shardSize],
    [10, 99, "batch", 2],
  );
  assert.deepEqual(Buffer.from(tenant.keys[0]!.hash), hashApiKey(key.body.key));
  assert.deepEqual(
    tenant.routes.map((r) => [r.id, r.pathPrefix, r.upstreamId]),
    [[route.body.id, "/api", up.body.id]],
  );
  assert.deepEqual(tenant.upstreams[0]!.targets, ["http://127.0.0.1:9"]);

  const versions = await h.api("GET", "/admin/v1/config/versions?limit=3");
  const newest = versions.body.items[0];
  assert.equal(newest.version, pointer.version);
  assert.equal(newest.sha256, pointer.sha256);
  assert.equal(newest.tenants, 1);
  assert.equal(newest.capacityBytes, capacity());
  assert.ok(newest.sizeBytes > HEADER_SIZE && newest.sizeBytes < capacity());
  assert.ok(
    versions.body.items.every(
      (v: { version: number }, i: number, all: { version: number }[]) =>
        i === 0 || all[i - 1]!.version > v.version,
    ),
  );
});

test("revoking a key removes its hash from the next snapshot; suspension travels", async () => {
  const key = await h.api("POST", "/admin/v1/tenants/pub/keys", {});
  await h.cp.publisher.idle();
  const hash = hashApiKey(key.body.key);
  const has = (s: Awaited<ReturnType<typeof latest>>["snapshot"]) =>
    s.tenants.find((t) => t.id === "pub")!.keys.some((k) => Buffer.from(k.hash).equals(hash));
  assert.ok(has((await latest()).snapshot));
  await h.api("DELETE", `/admin/v1/tenants/pub/keys/${key.body.id}`);
  await h.api("PATCH", "/admin/v1/tenants/pub", { status: "suspended" });
  await h.cp.publisher.idle();
  const { snapshot } = await latest();
  assert.ok(!has(snapshot));
  assert.equal(snapshot.tenants.find((t) => t.id === "pub")!.status, "suspended");
});

test("a burst of changes is coalesced into fewer versions", async () => {
  const before = (await latest()).pointer.version;
  const ids = Array.from({ length: 8 }, (_, i) => `burst-${i}`);
  const results = await Promise.all(ids.map((id) => h.api("POST", "/admin/v1/tenants", { id, name: id })));
  assert.ok(results.every((r) => r.status === 201));
  await h.cp.publisher.idle();
  const { pointer, snapshot } = await latest();
  const published = pointer.version - before;
  assert.ok(published >= 1 && published < ids.length, `${published} versions for ${ids.length} changes`);
  for (const id of ids)
    assert.ok(
      snapshot.tenants.some((t) => t.id === id),
      id,
    );
});

test("a restart publishes again with a higher version", async () => {
  const before = (await latest()).pointer.version;
  await h.restart();
  const { pointer, snapshot } = await latest();
  assert.ok(pointer.version > before);
  assert.ok(snapshot.tenants.some((t) => t.id === "pub"));
  const versions = await h.api("GET", "/admin/v1/config/versions?limit=1");
  assert.equal(versions.body.items[0].source, "startup");
});

test("past capacity the CP refuses to publish and to grow (507), warns above 80 %, and recovers", async () => {
  const used = (await h.api("GET", "/admin/v1/config/versions?limit=1")).body.items[0].sizeBytes;
  await h.restart({}, { CORRAL_SNAPSHOT_CAPACITY: String(Math.max(HEADER_SIZE + 1024, used + 60)) });
  assert.equal((await latest()).blob.length, capacity());
  const added: string[] = [];
  while (!h.cp.publisher.capacityExceeded && added.length < 40) {
    const key = await h.api("POST", "/admin/v1/tenants/pub/keys", {});
    assert.equal(key.status, 201);
    added.push(key.body.id);
    await h.cp.publisher.idle();
  }
  assert.ok(h.cp.publisher.capacityExceeded, "some key made the snapshot exceed its capacity");
  assert.ok(h.logs.some((l) => l.includes("snapshot is above 80% of its capacity")));
  assert.ok(h.logs.some((l) => l.includes("CORRAL_SNAPSHOT_CAPACITY_EXCEEDED")));
  const metrics = await (await fetch(`${h.cp.url}/metrics`)).text();
  const ratio = Number(/^corral_snapshot_usage_ratio (\S+)$/m.exec(metrics)?.[1]);
  assert.ok(ratio > 1, `usage ratio ${ratio}`);
  const versionBefore = (await latest()).pointer.version;

  const refused = await h.api("POST", "/admin/v1/tenants/pub/keys", {});
  assert.equal(refused.status, 507);
  assert.equal(refused.body.code, "CORRAL_SNAPSHOT_CAPACITY_EXCEEDED");

  for (const id of added)
    assert.equal((await h.api("DELETE", `/admin/v1/tenants/pub/keys/${id}`)).status, 204);
  await h.cp.publisher.idle();
  assert.equal(h.cp.publisher.capacityExceeded, false);
  assert.ok((await latest()).pointer.version > versionBefore);
  assert.equal((await h.api("POST", "/admin/v1/tenants", { id: "fits", name: "F" })).status, 201);
});
