import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { hashApiKey } from "../../proto/api-key.ts";
import { LATEST_KEY, parsePointer, snapshotKey } from "../../proto/blob-keys.ts";
import { Snapshot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
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
    targets: ["http://upstream.example.com:9"],
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
  assert.deepEqual(tenant.upstreams[0]!.targets, ["http://upstream.example.com:9"]);

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

test("each publish prunes the tenant change log up to what its compile read", async () => {
  const horizon = async () =>
    BigInt((await h.cp.pool.query("SELECT horizon::text AS h FROM tenant_changes_horizon")).rows[0].h);
  const logged = async () =>
    (await h.cp.pool.query("SELECT count(*)::int AS n FROM tenant_changes WHERE tenant_id = 'logged'"))
      .rows[0].n;
  const start = await horizon();
  await h.api("POST", "/admin/v1/tenants", { id: "logged", name: "Logged", plan: "free" });
  await h.cp.publisher.idle();
  await h.api("PATCH", "/admin/v1/tenants/logged", { name: "Logged again" });
  await h.cp.publisher.idle();
  const { snapshot } = await latest();
  assert.equal(snapshot.tenants.find((t) => t.id === "logged")?.name, "Logged again");
  assert.ok((await horizon()) > start, "the horizon moved with the publishes");
  assert.ok((await logged()) <= 1, "the insert's entry is gone (the second compile read past it)");
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

test("a change the snapshot cannot hold is refused before it commits (507); shrinking changes still publish", async () => {
  const reserve = 512;
  const { tenantBytes } = (await h.api("GET", "/admin/v1/config/usage")).body;
  const maxPayload = tenantBytes + reserve + 1000;
  await h.restart(
    {},
    { CORRAL_SNAPSHOT_MAX_PAYLOAD: String(maxPayload), CORRAL_SNAPSHOT_FLEET_RESERVE: String(reserve) },
  );
  const usage = (await h.api("GET", "/admin/v1/config/usage")).body;
  assert.deepEqual(
    [usage.tenantBytes, usage.fleetReserve, usage.maxPayload],
    [tenantBytes, reserve, maxPayload],
  );
  const versionBefore = (await latest()).pointer.version;

  const created: string[] = [];
  let refused: { id: string; status: number; code: string } | undefined;
  while (!refused && created.length < 40) {
    const id = `cap-${created.length}`;
    const res = await h.api("POST", "/admin/v1/tenants", { id, name: id });
    if (res.status === 201) created.push(id);
    else refused = { id, status: res.status, code: res.body.code };
  }
  assert.ok(created.length >= 1, "tenants fit until the bound");
  assert.deepEqual(refused && [refused.status, refused.code], [507, "CORRAL_SNAPSHOT_CAPACITY_EXCEEDED"]);
  assert.equal(
    (await h.api("GET", `/admin/v1/tenants/${refused!.id}`)).status,
    404,
    "the refused change rolled back",
  );
  await h.cp.publisher.idle();
  assert.equal(h.cp.publisher.capacityExceeded, false, "every committed change was published");
  const published = (await latest()).snapshot;
  for (const id of created)
    assert.ok(
      published.tenants.some((t) => t.id === id),
      id,
    );
  const filled = (await h.api("GET", "/admin/v1/config/usage")).body;
  assert.ok(filled.tenantBytes + reserve <= maxPayload, JSON.stringify(filled));
  assert.ok(
    Snapshot.encode(published).finish().length <= maxPayload,
    "the published payload is within the bound",
  );

  // a bound below what is already there: growth is refused, deletes still publish
  await h.restart({}, { CORRAL_SNAPSHOT_MAX_PAYLOAD: String(filled.tenantBytes) });
  const grown = await h.api("POST", "/admin/v1/tenants/pub/keys", {});
  assert.deepEqual([grown.status, grown.body.code], [507, "CORRAL_SNAPSHOT_CAPACITY_EXCEEDED"]);
  const beforeDelete = (await latest()).pointer.version;
  assert.equal((await h.api("DELETE", `/admin/v1/tenants/${created[0]}`)).status, 204);
  await h.cp.publisher.idle();
  const after = await latest();
  assert.ok(after.pointer.version > beforeDelete && after.pointer.version > versionBefore);
  assert.ok(!after.snapshot.tenants.some((t) => t.id === created[0]));

  // within the bound again, a tenant of the same shape fits
  await h.restart({}, { CORRAL_SNAPSHOT_MAX_PAYLOAD: String(maxPayload) });
  assert.equal((await h.api("POST", "/admin/v1/tenants", { id: "cap-x", name: "cap-x" })).status, 201);
});
