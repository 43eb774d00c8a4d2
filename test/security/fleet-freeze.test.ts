/**
 * Issue 8 item 3, attack: one tenant must never freeze the fleet. Real processes: a control
 * plane with a small snapshot capacity (64 KiB), two data-plane nodes, a real Postgres and an
 * upstream. Tenant A, with nothing but its own manage key and the tenant REST API, creates
 * upstreams of 31 long, incompressible targets until the control plane refuses (507). Nothing
 * past the refusal is committed. Then an operator revokes tenant B's key: every node answers
 * 401 to it within 2 s of the revocation, and later changes keep publishing (every node
 * applies the newest version).
 *
 * Before quotas, A's changes kept committing until a publish went past capacity; from then on
 * every publish failed and B's revoked key kept getting 200 from every node.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  call,
  type IsolationPlatform,
  isolationPlatform,
  type TestUpstream,
  testUpstream,
} from "../isolation/support.ts";
import { createTenant } from "../support/tenants.ts";
import { poll } from "../support/poll.ts";

const REVOCATION_LIMIT_MS = 2000;
const MAX_ATTEMPTS = 300;

/** 31 distinct targets of ~200 characters, mostly random hex: gzip cannot shrink them much. */
function longTargets(): string[] {
  return Array.from(
    { length: 31 },
    (_, j) => `http://t${j}.example.com:${9000 + j}/${randomBytes(90).toString("hex")}`,
  );
}

describe("fleet freeze: one tenant filling the snapshot cannot stop other tenants' changes", {
  timeout: 240_000,
}, () => {
  let fleet: IsolationPlatform;
  let upstream: TestUpstream;

  before(async () => {
    upstream = await testUpstream();
    fleet = await isolationPlatform({
      dataPlanes: 2,
      cpEnv: { CORRAL_SNAPSHOT_CAPACITY: String(64 * 1024) },
    });
  });

  after(async () => {
    await fleet?.stop();
    await upstream?.close();
  });

  it("refuses A past capacity without committing, and B's revocation reaches every node within 2 s", async (t) => {
    const { platform, admin } = fleet;
    const keyB = (
      await createTenant(admin, {
        id: "tenant-b",
        upstream: upstream.url,
        routes: [{ pathPrefix: "/b" }],
      })
    ).key;
    await platform.waitUntilServing("/b/x", keyB, 30_000);

    // A: a manage key on the largest plan (its quotas are far above this small capacity)
    await admin.post("/admin/v1/tenants", { id: "tenant-a", name: "A", plan: "enterprise" });
    const keyA = await admin.post<{ key: string }>("/admin/v1/tenants/tenant-a/keys", { scopes: ["manage"] });
    const tenantApi = (
      method: string,
      path: string,
      body?: unknown,
      // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
    ): Promise<{ status: number; body: any }> =>
      fetch(`${platform.cpUrl}/v1${path}`, {
        method,
        headers: { "x-api-key": keyA.key, ...(body ? { "content-type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      }).then(async (res) => ({ status: res.status, body: await res.json().catch(() => null) }));

    let created = 0;
    let refusal: { status: number; body: { code?: string } | null } | undefined;
    while (!refusal && created < MAX_ATTEMPTS) {
      const res = await tenantApi("POST", "/upstreams", { name: `u${created}`, targets: longTargets() });
      if (res.status === 201) created++;
      else refusal = res;
    }
    assert.ok(refusal, `A created ${created} upstreams of 31 long targets without being refused`);
    assert.equal(refusal.status, 507, JSON.stringify(refusal.body));
    assert.ok(
      ["CORRAL_SNAPSHOT_CAPACITY_EXCEEDED", "CORRAL_QUOTA_EXCEEDED"].includes(refusal.body?.code ?? ""),
      JSON.stringify(refusal.body),
    );
    assert.ok(created > 0, "A could grow until the bound");
    assert.equal(
      (await tenantApi("POST", "/upstreams", { name: "again", targets: longTargets() })).status,
      507,
    );
    const items: { id: string }[] = (await tenantApi("GET", "/upstreams")).body.items;
    assert.equal(items.length, created, "nothing past the refusal was committed");

    // the operator revokes B's key: every node answers 401 within 2 s of the revocation
    const keys = await admin.get<{ items: { id: string }[] }>("/admin/v1/tenants/tenant-b/keys");
    const revokedAt = performance.now();
    await admin.request("DELETE", `/admin/v1/tenants/tenant-b/keys/${keys.items[0]!.id}`);
    const revokedIn = await Promise.all(
      platform.dps.map((dp) =>
        poll(
          `${dp.slot} refusing B's revoked key`,
          async () => {
            const { status } = await call(`${dp.url}/b/x`, keyB);
            if (status !== 401) throw new Error(`${dp.slot} answered ${status}`);
            return performance.now() - revokedAt;
          },
          REVOCATION_LIMIT_MS - (performance.now() - revokedAt),
          20,
        ),
      ),
    );

    t.diagnostic(
      `A created ${created} upstreams, then ${refusal.body?.code}; B's key refused after ${revokedIn.map(Math.round).join(", ")} ms`,
    );

    // later changes still publish: A shrinks, and every node applies the newest version
    const newest = async () =>
      (await admin.get<{ items: { version: number }[] }>("/admin/v1/config/versions?limit=1")).items[0]!
        .version;
    const before = await newest();
    assert.equal((await tenantApi("DELETE", `/upstreams/${items[0]!.id}`)).status, 204);
    await poll("a newer version", async () => (await newest()) > before);
    const target = await newest();
    await poll("every node on the newest version", async () => {
      const nodes = await admin.get<{ items: { appliedVersion: number }[] }>("/admin/v1/fleet");
      return nodes.items.length === 2 && nodes.items.every((n) => n.appliedVersion >= target);
    });
  });
});
