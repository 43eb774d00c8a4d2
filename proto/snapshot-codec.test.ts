import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Snapshot } from "./gen/corral/snapshot/v1/snapshot.ts";
import { generateSigningKeyPair, parsePrivateKey, parsePublicKey } from "./signing-keys.ts";
import { gzipSync } from "node:zlib";
import {
  decodeSnapshot,
  encodeSnapshot,
  gzipBound,
  HEADER_SIZE,
  MAX_DECODED_BYTES,
  maxPayloadFor,
  readHeader,
  sha256Hex,
} from "./snapshot-codec.ts";
import { SnapshotError } from "./snapshot-errors.ts";

const pair = generateSigningKeyPair();
const priv = parsePrivateKey(pair.privateKey);
const pub = parsePublicKey(pair.publicKey);
const CAP = 64 * 1024;

function sample(version = 7): Snapshot {
  return Snapshot.fromPartial({
    version,
    epoch: 3,
    createdAtMs: 1_700_000_000_000,
    slots: [{ name: "dp-0", zone: "zone-a", httpUrl: "http://127.0.0.1:7500", live: true }],
    tenants: [
      {
        id: "acme",
        name: "Acme",
        status: "active",
        plan: "standard",
        limits: { rate: 100, burst: 200, concurrency: 10, priority: "standard", shardSize: 2 },
        shard: ["dp-0"],
        keys: [{ id: "k1", hash: Buffer.alloc(32, 1), scopes: ["invoke"] }],
        routes: [{ id: "r1", pathPrefix: "/v1", upstreamId: "u1", timeoutMs: 1000, protocol: "http" }],
        upstreams: [{ id: "u1", name: "api", targets: ["http://127.0.0.1:9000"] }],
      },
    ],
  });
}

function rejects(blob: Uint8Array, code: string, key = pub, max = CAP) {
  assert.throws(
    () => decodeSnapshot(blob, key, max),
    (err: unknown) => err instanceof SnapshotError && err.code === code,
  );
}

test("round trip keeps every field and the blob is exactly capacity bytes", () => {
  const snap = sample();
  const enc = encodeSnapshot(snap, CAP, priv);
  assert.equal(enc.blob.length, CAP);
  assert.equal(enc.sha256, sha256Hex(enc.blob));
  assert.deepEqual(decodeSnapshot(enc.blob, pub, CAP), snap);
  const h = readHeader(enc.blob);
  assert.equal(h.version, 7);
  assert.equal(h.epoch, 3);
  assert.equal(h.capacity, CAP);
});

test("round trip property over arbitrary tenants", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          id: fc.string({ maxLength: 20 }),
          name: fc.string(),
          status: fc.constantFrom("active", "suspended"),
        }),
        { maxLength: 30 },
      ),
      fc.nat({ max: 2 ** 40 }),
      (tenants, version) => {
        const snap = Snapshot.fromPartial({ version, epoch: 1, createdAtMs: 5, tenants });
        assert.deepEqual(decodeSnapshot(encodeSnapshot(snap, CAP, priv).blob, pub, CAP), snap);
      },
    ),
    { numRuns: 50 },
  );
});

test("refuses to encode past capacity", () => {
  assert.throws(
    () => encodeSnapshot(sample(), HEADER_SIZE + 10, priv),
    (e: unknown) => e instanceof SnapshotError && e.code === "CORRAL_SNAPSHOT_CAPACITY_EXCEEDED",
  );
});

test("rejects truncated, resized and oversized blobs", () => {
  const { blob } = encodeSnapshot(sample(), CAP, priv);
  rejects(blob.subarray(0, 100), "CORRAL_SNAPSHOT_TRUNCATED");
  rejects(blob.subarray(0, CAP - 1), "CORRAL_SNAPSHOT_SIZE_MISMATCH");
  rejects(Buffer.concat([blob, Buffer.alloc(1)]), "CORRAL_SNAPSHOT_SIZE_MISMATCH", pub, CAP * 2);
  rejects(blob, "CORRAL_SNAPSHOT_OVERSIZED", pub, CAP - 1);
  rejects(Buffer.alloc(0), "CORRAL_SNAPSHOT_TRUNCATED");
});

test("rejects wrong magic and unknown format", () => {
  const { blob } = encodeSnapshot(sample(), CAP, priv);
  const badMagic = Buffer.from(blob);
  badMagic[0] = 0x58;
  rejects(badMagic, "CORRAL_SNAPSHOT_BAD_MAGIC");
  const badFormat = Buffer.from(blob);
  badFormat.writeUInt16BE(99, 8);
  rejects(badFormat, "CORRAL_SNAPSHOT_BAD_FORMAT");
});

test("rejects a corrupted payload byte (digest) and a corrupted header field (signature)", () => {
  const { blob } = encodeSnapshot(sample(), CAP, priv);
  const payload = Buffer.from(blob);
  payload[HEADER_SIZE + 5] ^= 0xff;
  rejects(payload, "CORRAL_SNAPSHOT_DIGEST_MISMATCH");
  const version = Buffer.from(blob);
  version.writeBigUInt64BE(99n, 16);
  rejects(version, "CORRAL_SNAPSHOT_BAD_SIGNATURE");
  const sig = Buffer.from(blob);
  sig[100] ^= 1;
  rejects(sig, "CORRAL_SNAPSHOT_BAD_SIGNATURE");
});

test("rejects unsigned blobs and blobs signed by another key", () => {
  const { blob } = encodeSnapshot(sample(), CAP, priv);
  const unsigned = Buffer.from(blob);
  unsigned.fill(0, 80, HEADER_SIZE);
  rejects(unsigned, "CORRAL_SNAPSHOT_BAD_SIGNATURE");
  const other = generateSigningKeyPair();
  const foreign = encodeSnapshot(sample(), CAP, parsePrivateKey(other.privateKey)).blob;
  rejects(foreign, "CORRAL_SNAPSHOT_BAD_SIGNATURE");
});

test("every single-bit flip anywhere in the blob is rejected, padding included", () => {
  const { blob } = encodeSnapshot(sample(), CAP, priv);
  fc.assert(
    fc.property(fc.nat({ max: CAP - 1 }), fc.nat({ max: 7 }), (offset, bit) => {
      const b = Buffer.from(blob);
      b[offset] ^= 1 << bit;
      assert.throws(() => decodeSnapshot(b, pub, CAP), SnapshotError);
    }),
    { numRuns: 300 },
  );
});

test("a non-zero byte in the padding is refused", () => {
  const { blob } = encodeSnapshot(sample(), CAP, priv);
  const b = Buffer.from(blob);
  b[CAP - 1] = 1;
  rejects(b, "CORRAL_SNAPSHOT_BAD_PADDING");
});

test("signing keys: PEM and base64 DER both parse, other key types are refused", async () => {
  const { generateKeyPairSync } = await import("node:crypto");
  const { privateKey } = generateKeyPairSync("ed25519");
  assert.equal(
    parsePrivateKey(privateKey.export({ format: "pem", type: "pkcs8" }) as string).asymmetricKeyType,
    "ed25519",
  );
  const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
  assert.throws(
    () => parsePrivateKey(rsa.privateKey.export({ format: "pem", type: "pkcs8" }) as string),
    /ed25519/,
  );
  assert.throws(() => parsePublicKey("not a key"));
});

test("a payload within maxPayloadFor(capacity) fits the capacity once gzipped, whatever its bytes", () => {
  fc.assert(
    fc.property(fc.integer({ min: HEADER_SIZE + 1024, max: 256 * 1024 }), fc.integer(), (capacity, seed) => {
      const n = maxPayloadFor(capacity);
      assert.ok(n > 0 && gzipBound(n) + HEADER_SIZE <= capacity);
      // incompressible bytes are gzip's worst case (stored blocks)
      const bytes = Buffer.alloc(n);
      let x = seed >>> 0 || 1;
      for (let i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        bytes[i] = x & 0xff;
      }
      const gz = gzipSync(bytes, { level: 6 });
      assert.ok(gz.length <= gzipBound(n), `${gz.length} > ${gzipBound(n)} for ${n}`);
      assert.ok(HEADER_SIZE + gz.length <= capacity);
    }),
    { numRuns: 25 },
  );
  assert.equal(maxPayloadFor(1024 * 1024 * 1024), MAX_DECODED_BYTES, "never past what nodes inflate");
});
