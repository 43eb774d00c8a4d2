/**
 * The propagation benchmark's parts against a real control plane (in-process, real Postgres,
 * filesystem blob store): seeded tenants, simulated nodes in two worker threads that settle on
 * the newest version (the control plane counts their Acks), a measured round; and the blob
 * check alone: a good blob passes, each kind of bad one is refused, "shared" fetches once.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { AdminClient } from "../../bin/admin/admin-client.ts";
import { snapshotKey } from "../../proto/blob-keys.ts";
import type { BlobStore } from "../../runtime/blob-store/blob-store.ts";
import { generateSigningKeyPair, parsePrivateKey, parsePublicKey } from "../../proto/signing-keys.ts";
import { Snapshot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { encodeSnapshot, HEADER_SIZE, sha256Hex } from "../../proto/snapshot-codec.ts";
import { type Harness, startHarness } from "../../test/control-plane/harness.ts";
import { BlobChecker } from "./blob-check.ts";
import { runRound, settle } from "./propagation-round.ts";
import { seedTenants } from "./seed-tenants.ts";
import { SimFleet } from "./sim-fleet.ts";
import { simSlot } from "./sim-node.ts";

const NODES = 20;

describe("simulated nodes against a real control plane", { timeout: 60_000 }, () => {
  let h: Harness;
  let fleet: SimFleet;
  let admin: AdminClient;

  before(async () => {
    h = await startHarness();
    admin = new AdminClient({ url: h.cp.url, token: h.adminToken });
    await seedTenants(h.pg.url, 30);
    await admin.patch("/admin/v1/tenants/bench-000001", { name: "first publish" });
    fleet = await SimFleet.start({
      nodes: NODES,
      workers: 2,
      cpUrl: h.cp.url,
      nodeSecret: h.nodeSecret,
      blobUrl: h.env.CORRAL_BLOB_URL!,
      verifyKey: h.publicKey.export({ type: "spki", format: "der" }).toString("base64"),
      capacity: Number(h.env.CORRAL_SNAPSHOT_CAPACITY),
      mode: "shared",
      checkConcurrency: 2,
      zones: ["zone-a", "zone-b"],
      dialConcurrency: 5,
    });
  });

  after(async () => {
    await fleet?.close();
    await h?.close();
  });

  it("every node acks the newest version; the control plane records each of them", async () => {
    const version = await settle(fleet, admin, 20_000, 300);
    const { items } = await admin.get<{ items: Array<{ version: number; acks: number; tenants: number }> }>(
      "/admin/v1/config/versions?limit=1",
    );
    assert.equal(items[0]!.version, version);
    assert.equal(items[0]!.tenants, 30);
    assert.equal(items[0]!.acks, NODES);
    const nodes = (
      await admin.get<{ items: Array<{ slot: string; appliedVersion: number }> }>("/admin/v1/fleet")
    ).items;
    assert.deepEqual(
      nodes.map((n) => n.slot).sort(),
      Array.from({ length: NODES }, (_, i) => simSlot(i)),
    );
    assert.ok(nodes.every((n) => n.appliedVersion === version));
  });

  it("a round times every node from the admin call to its Ack", async () => {
    const result = await runRound({ fleet, admin, cpUrl: h.cp.url, pgUrl: h.env.CORRAL_PG_URL }, 1, 20_000);
    assert.equal(result.ackMs.length, NODES);
    assert.ok(result.ackMs.every((ms) => ms > 0 && ms < 20_000));
    assert.ok(result.publishedMs > 0 && result.publishedMs <= result.ack.max + 1000);
    assert.ok(result.announce.p50 <= result.ack.p50);
    assert.ok(result.checkMsMedian > 0);
    assert.ok(result.cpCompileMs > 0 && result.cpPublishMs >= result.cpCompileMs);
    assert.ok(result.published.some((v) => v.version === result.version && v.source === "change"));
    assert.deepEqual([fleet.nacks, fleet.closed, fleet.failures], [[], [], []]);
  });
});

describe("blob check", () => {
  const pair = generateSigningKeyPair();
  const capacity = 64 * 1024;
  const snapshot = Snapshot.fromPartial({ version: 7, epoch: 1, createdAtMs: 1 });
  const good = encodeSnapshot(snapshot, capacity, parsePrivateKey(pair.privateKey));
  const announce = { version: 7, key: snapshotKey(7), sha256: good.sha256 };

  function storeWith(blob: Buffer): BlobStore & { gets: number } {
    const store = {
      location: "memory",
      gets: 0,
      put: async () => {},
      delete: async () => {},
      get: async (_key: string, maxBytes: number) => {
        store.gets++;
        if (blob.length > maxBytes) throw new Error("too large");
        return blob;
      },
    };
    return store;
  }

  const checker = (blob: Buffer, mode: "each" | "shared" = "each") => {
    const store = storeWith(blob);
    return {
      store,
      checker: new BlobChecker({ store, publicKey: parsePublicKey(pair.publicKey), capacity }, mode, 2),
    };
  };

  it("passes a good blob", async () => {
    assert.ok((await checker(good.blob).checker.check(announce)) >= 0);
  });

  it("refuses a bad sha, a corrupted payload, another signer, a wrong key name, a different version", async () => {
    await assert.rejects(checker(good.blob).checker.check({ ...announce, sha256: "0".repeat(64) }), /sha256/);
    const corrupt = Buffer.from(good.blob);
    corrupt[HEADER_SIZE + 3]! ^= 1;
    await assert.rejects(
      checker(corrupt).checker.check({ ...announce, sha256: sha256Hex(corrupt) }),
      /digest/,
    );
    const other = encodeSnapshot(snapshot, capacity, parsePrivateKey(generateSigningKeyPair().privateKey));
    await assert.rejects(
      checker(other.blob).checker.check({ ...announce, sha256: other.sha256 }),
      /signature/,
    );
    await assert.rejects(checker(good.blob).checker.check({ ...announce, key: snapshotKey(8) }), /names key/);
    await assert.rejects(
      checker(good.blob).checker.check({ version: 8, key: snapshotKey(8), sha256: good.sha256 }),
      /says version 7/,
    );
  });

  it('"shared" fetches a version once for all its nodes, "each" once per node', async () => {
    const shared = checker(good.blob, "shared");
    await Promise.all(Array.from({ length: 10 }, () => shared.checker.check(announce)));
    assert.equal(shared.store.gets, 1);
    const each = checker(good.blob, "each");
    await Promise.all(Array.from({ length: 10 }, () => each.checker.check(announce)));
    assert.equal(each.store.gets, 10);
  });
});
