/**
 * Bad blobs in the blob store (docs/design.md §3.3), with real processes: one control plane,
 * Postgres, two data planes pulling LATEST every second, a filesystem blob store. Each case
 * puts one bad blob into the store as a new snapshots/<version>.snap and points LATEST at it
 * (the control plane's own LATEST rewrite is slowed to an hour so it does not repair the
 * pointer first): truncated, cut in half, a corrupted payload byte, unsigned, signed with
 * another key, larger than the nodes accept, a validly signed lower version, and the served
 * version's own object corrupted in place. Every node must refuse it with the right code
 * (its /status lastError), Nack it (the control plane's fleet view shows the error; for the
 * served version, GET /admin/v1/config/versions counts the Nacks), and keep serving the old
 * version: a probe sends requests to every tenant on every node throughout and none may fail.
 * At the end a real change is published and every node applies it: nothing is wedged.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { encodePointer, LATEST_KEY, parsePointer, snapshotKey } from "../../proto/blob-keys.ts";
import { FsBlobStore } from "../../runtime/blob-store/fs-blob-store.ts";
import type { Snapshot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { generateSigningKeyPair, parsePrivateKey, parsePublicKey } from "../../proto/signing-keys.ts";
import { decodeSnapshot, encodeSnapshot, HEADER_SIZE, sha256Hex } from "../../proto/snapshot-codec.ts";
import {
  type ChaosPlatform,
  configVersions,
  chaosTenant,
  fleet,
  nodeStatus,
  type ProbeFailure,
  request,
  startChaosPlatform,
  startProbe,
} from "./static-stability-support.ts";
import { createTenant } from "../support/tenants.ts";
import { poll } from "../support/poll.ts";

const CAPACITY = 256 * 1024;
const POLL_INTERVAL_MS = 1000;
/** a few pulls on a busy machine */
const REFUSED_WITHIN_MS = 15_000;

/**
 * The error is about `version`: it carries that version, or (a blob refused before its
 * header was read, e.g. too large to fetch: the node reports version 0) names its key.
 */
function names(error: { version: number; message: string }, version: number): boolean {
  return error.version === version || error.message.includes(snapshotKey(version));
}

/** "version N: CODE: message" as the control plane records a Nack */
function parseNack(text: string): { version: number; message: string } {
  const m = /^version (\d+): (.*)$/s.exec(text);
  return { version: m ? Number(m[1]) : -1, message: m?.[2] ?? text };
}

interface BadBlob {
  name: string;
  code: string;
  /** the bytes to store and the version LATEST names */
  make(good: Snapshot): { version: number; blob: Buffer };
}

describe("bad blobs in the blob store", { timeout: 90_000 }, () => {
  let c: ChaosPlatform;
  let store: FsBlobStore;
  let good: Snapshot;
  let goodBlob: Buffer;
  let goodPointer: Buffer;
  let probe: ReturnType<typeof startProbe>;
  let failures: ProbeFailure[] | undefined;
  let nextVersion: number;

  const sign = (s: Snapshot, version: number, key = signingKey(), capacity = CAPACITY) =>
    encodeSnapshot({ ...s, version }, capacity, key).blob;
  const signingKey = () => parsePrivateKey(c.platform.secrets.signingKey);
  /** a version above anything published, distinct per case so each one gets its own Nack */
  const fresh = () => nextVersion++;

  before(async () => {
    c = await startChaosPlatform({
      dataPlanes: 2,
      extraEnv: { CORRAL_SNAPSHOT_CAPACITY: String(CAPACITY) },
      cpEnv: { CORRAL_LATEST_REWRITE_MS: "3600000" },
      dpEnv: { CORRAL_POLL_INTERVAL_MS: String(POLL_INTERVAL_MS) },
    });
    store = new FsBlobStore(fileURLToPath(c.platform.blobUrl));
    const version = await settledVersion();
    goodPointer = await store.get(LATEST_KEY, 4096);
    goodBlob = await store.get(snapshotKey(version), CAPACITY);
    good = decodeSnapshot(goodBlob, parsePublicKey(c.platform.verifyKey), CAPACITY);
    assert.ok(good.version >= 2, "a lower version exists to fake");
    nextVersion = good.version + 100;
    probe = startProbe(c.platform.dps, c.tenants);
  });

  after(async () => {
    await probe?.stop();
    await c?.stop();
  });

  /**
   * The version every node serves once the control plane has no more reason to publish: the
   * nodes joining change the fleet, and the CP republishes for that (its fleet watcher compares
   * the fleet with the last snapshot's slot table). So wait for the positive marker: LATEST's
   * snapshot lists every node as live, and every node serves that version.
   */
  async function settledVersion(): Promise<number> {
    const verifyKey = parsePublicKey(c.platform.verifyKey);
    return poll(
      "LATEST lists every node live and every node serves it",
      async () => {
        const pointer = parsePointer(await store.get(LATEST_KEY, 4096));
        const latest = decodeSnapshot(await store.get(pointer.key, CAPACITY), verifyKey, CAPACITY);
        const live = new Set(latest.slots.filter((s) => s.live).map((s) => s.name));
        if (!c.platform.dps.every((dp) => live.has(dp.slot))) return false;
        const versions = await Promise.all(c.platform.dps.map(async (dp) => (await nodeStatus(dp)).version));
        return versions.every((v) => v === latest.version) && latest.version;
      },
      45_000,
    );
  }

  async function put(version: number, blob: Buffer): Promise<void> {
    await store.put(snapshotKey(version), blob);
    await store.put(
      LATEST_KEY,
      encodePointer({ version, key: snapshotKey(version), sha256: sha256Hex(blob) }),
    );
  }

  /** every node refused `version` with `code`, the fleet view shows it, and each still serves `good` */
  async function everyNodeRefused(version: number, code: string): Promise<void> {
    for (const dp of c.platform.dps) {
      let last: unknown;
      const status = await poll(
        `${dp.slot} refuses version ${version} with ${code}`,
        async () => {
          const s = await nodeStatus(dp);
          last = s.lastError;
          return s.lastError?.code === code && names(s.lastError, version) && s;
        },
        REFUSED_WITHIN_MS,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; last error reported: ${JSON.stringify(last)}`);
      });
      assert.equal(status.version, good.version, `${dp.slot} still serves version ${good.version}`);
      assert.ok(status.ready);
      for (const t of c.tenants) assert.equal(await request(dp, t.key), "200");
    }
    await poll(
      `the fleet view shows the Nack of version ${version} by every node`,
      async () => {
        const nodes = await fleet(c.platform);
        const nacked = (n: (typeof nodes)[number]) =>
          n.lastError?.includes(`: ${code}: `) === true && names(parseNack(n.lastError), version);
        return nodes.length === c.platform.dps.length && nodes.every(nacked);
      },
      REFUSED_WITHIN_MS,
    );
  }

  const cases: BadBlob[] = [
    {
      name: "truncated to 100 bytes",
      code: "CORRAL_SNAPSHOT_TRUNCATED",
      make: (s) => {
        const version = fresh();
        return { version, blob: sign(s, version).subarray(0, 100) };
      },
    },
    {
      name: "cut in half",
      code: "CORRAL_SNAPSHOT_SIZE_MISMATCH",
      make: (s) => {
        const version = fresh();
        return { version, blob: sign(s, version).subarray(0, CAPACITY / 2) };
      },
    },
    {
      name: "one payload byte corrupted",
      code: "CORRAL_SNAPSHOT_DIGEST_MISMATCH",
      make: (s) => {
        const version = fresh();
        const blob = Buffer.from(sign(s, version));
        blob[HEADER_SIZE + 10]! ^= 0xff;
        return { version, blob };
      },
    },
    {
      name: "unsigned (signature zeroed)",
      code: "CORRAL_SNAPSHOT_BAD_SIGNATURE",
      make: (s) => {
        const version = fresh();
        return { version, blob: Buffer.from(sign(s, version)).fill(0, 80, HEADER_SIZE) };
      },
    },
    {
      name: "signed with another key",
      code: "CORRAL_SNAPSHOT_BAD_SIGNATURE",
      make: (s) => {
        const version = fresh();
        return { version, blob: sign(s, version, parsePrivateKey(generateSigningKeyPair().privateKey)) };
      },
    },
    {
      name: "larger than the nodes accept",
      code: "CORRAL_SNAPSHOT_OVERSIZED",
      make: (s) => {
        const version = fresh();
        return { version, blob: sign(s, version, signingKey(), CAPACITY * 2) };
      },
    },
    {
      name: "validly signed, lower version, one tenant fewer",
      code: "CORRAL_DP_CONFIG_VERSION_REGRESSION",
      make: (s) => {
        const version = s.version - 1;
        const fewer = { ...s, tenants: s.tenants.filter((t) => t.id !== c.tenants[0]!.id) };
        return { version, blob: sign(fewer, version) };
      },
    },
  ];

  for (const bad of cases) {
    it(`${bad.name}: every node refuses it (${bad.code}), Nacks, keeps serving`, async () => {
      const { version, blob } = bad.make(good);
      await put(version, blob);
      await everyNodeRefused(version, bad.code);
    });
  }

  it("the served version's object corrupted in place: refused, Nacked in the version's counts", async () => {
    const corrupt = Buffer.from(goodBlob);
    corrupt[HEADER_SIZE + 20]! ^= 0x01;
    await store.put(LATEST_KEY, goodPointer);
    await store.put(snapshotKey(good.version), corrupt);
    await everyNodeRefused(good.version, "CORRAL_SNAPSHOT_DIGEST_MISMATCH");
    const row = await poll(
      `version ${good.version} counts a Nack from every node`,
      async () =>
        (await configVersions(c.platform)).find(
          (v) => v.version === good.version && v.nacks === c.platform.dps.length,
        ),
      REFUSED_WITHIN_MS,
    );
    assert.equal(row.acks, 0);
    await store.put(snapshotKey(good.version), goodBlob);
  });

  it("no request failed, and the next real version is applied by every node", async () => {
    const upstream = c.platform.upstreams!.http;
    const late = await createTenant(c.platform.admin(), chaosTenant("after-bad-blobs", upstream));
    for (const dp of c.platform.dps) {
      await poll(
        `${dp.slot} serves the new tenant`,
        async () => (await request(dp, late.key)) === "200",
        20_000,
      );
    }
    const versions = await configVersions(c.platform);
    const newest = versions[0]!;
    assert.ok(newest.version > good.version);
    await poll(
      `version ${newest.version} Acked by every node`,
      async () =>
        (await configVersions(c.platform)).find((v) => v.version === newest.version)?.acks ===
        c.platform.dps.length,
      10_000,
    );
    const result = await probe.stop();
    failures = result.failures;
    assert.ok(result.sent > 100, `probe sent ${result.sent}`);
    assert.deepEqual(failures, []);
  });
});
