import assert from "node:assert/strict";
import { test } from "node:test";
import { hashApiKey } from "../../proto/api-key.ts";
import * as fx from "../../test/data-plane/fixtures.ts";

const pair = fx.signingPair();
const a = fx.newKey();
const b = fx.newKey();
const manage = fx.newKey();

function config(version: number, bRoutes = [{ id: "r1", pathPrefix: "/b" }]) {
  return fx.liveConfig(
    fx.snapshot(version, [
      fx.tenant({
        id: "alpha",
        upstream: "http://127.0.0.1:9",
        keys: [
          { id: "m1", hash: manage.hash, scopes: ["manage"] },
          { id: a.id, hash: a.hash },
        ],
      }),
      fx.tenant({
        id: "beta",
        upstream: "http://127.0.0.1:9",
        keys: [{ id: b.id, hash: b.hash }],
        routes: bRoutes,
      }),
      fx.tenant({
        id: "legacy",
        upstream: "http://127.0.0.1:9",
        keys: [{ id: "old", hash: hashApiKey("legacy-key") }],
      }),
    ]),
    pair,
  );
}

test("a key identifies its tenant and key id; tenants are decoded on first use", () => {
  const c = config(1);
  assert.equal(c.tenantCount, 3);
  assert.equal(c.decodedCount, 0);
  const id = c.identify(a.key);
  assert.equal(id?.tenant.id, "alpha");
  assert.equal(id?.keyId, a.id);
  assert.equal(c.decodedCount, 1);
  assert.equal(c.identify(b.key)?.tenant.routes.match("", "/b/x", "GET")?.id, "r1");
  assert.equal(c.identify("legacy-key")?.keyId, "old", "keys of any shape are hashed, not parsed");
  assert.equal(c.identify(a.key)?.tenant, id?.tenant, "decoded once");
});

test("unknown, altered, manage-only, empty and oversized keys identify nothing", () => {
  const c = config(1);
  assert.equal(c.identify(fx.newKey().key), undefined);
  assert.equal(c.identify(`${a.key.slice(0, -1)}x`), undefined);
  assert.equal(c.identify(a.hash.toString("hex")), undefined, "the hash itself is not a key");
  assert.equal(c.identify(manage.key), undefined, "only scope invoke admits traffic");
  assert.equal(c.identify(""), undefined);
  assert.equal(c.identify(undefined), undefined);
  assert.equal(c.identify(a.key + "x".repeat(200)), undefined);
});

test("tenants are found by id", () => {
  const c = config(1);
  assert.equal(c.tenant("beta")?.id, "beta");
  assert.equal(c.tenant("gamma"), undefined);
  assert.equal(c.tenant("bet"), undefined);
});

test("a new version adopts decoded tenants whose bytes did not change", async () => {
  const v1 = config(1);
  const alpha = v1.identify(a.key)!.tenant;
  const beta = v1.identify(b.key)!.tenant;
  const v2 = config(2, [{ id: "r2", pathPrefix: "/b2" }]);
  assert.equal(await v2.adopt(v1), 1);
  assert.equal(v2.identify(a.key)?.tenant, alpha, "unchanged: the same decoded entry");
  const beta2 = v2.identify(b.key)!.tenant;
  assert.notEqual(beta2, beta, "changed: decoded afresh");
  assert.equal(beta2.routes.match("", "/b2", "GET")?.id, "r2");
  assert.equal(await v2.adopt(undefined), 0);
});

test("a verified key is remembered by this config only: a key revoked in the next one no longer identifies", () => {
  const v1 = config(1);
  const first = v1.identify(a.key);
  assert.equal(v1.identify(a.key), first, "the second request reuses the verified identity");
  assert.equal(v1.identify(`${a.key} `.trim().slice(0, -1)), undefined, "only the exact key");
  const v2 = fx.liveConfig(
    fx.snapshot(2, [
      fx.tenant({ id: "alpha", upstream: "http://127.0.0.1:9", keys: [{ id: b.id, hash: b.hash }] }),
    ]),
    pair,
  );
  assert.equal(v2.identify(a.key), undefined, "revoked with the new version");
  assert.equal(v2.identify(b.key)?.tenant.id, "alpha");
});
