/**
 * Snapshot blob framing (docs/design.md §3.1). Every blob is exactly `capacity` bytes:
 *
 *   offset size  field
 *   0      8     magic "CORRALSN"
 *   8      2     format version (1)
 *   10     2     flags (bit 0: payload is gzip)
 *   12     4     reserved (0)
 *   16     8     version
 *   24     8     epoch
 *   32     8     created-at (ms since epoch)
 *   40     4     payload length
 *   44     4     capacity
 *   48     32    SHA-256 of payload
 *   80     64    Ed25519 signature over bytes [0, 80)
 *   144    n     payload (gzip of a protobuf corral.snapshot.v1.Snapshot)
 *   144+n  ...   zero padding up to capacity
 *
 * Pure: no I/O. Keys are node:crypto KeyObjects.
 */
import { createHash, type KeyObject, sign, verify, webcrypto } from "node:crypto";
import { promisify } from "node:util";
import { gunzipSync, gzip, gzipSync } from "node:zlib";
import { Snapshot } from "./gen/corral/snapshot/v1/snapshot.ts";
import { SnapshotError } from "./snapshot-errors.ts";

export const MAGIC = Buffer.from("CORRALSN", "ascii");
export const FORMAT_VERSION = 1;
export const HEADER_SIZE = 144;
const SIGNED_SIZE = 80;
const FLAG_GZIP = 1;
export const DEFAULT_CAPACITY = 8 * 1024 * 1024;
/** Decompressed payloads larger than this are refused (zip-bomb bound). */
export const MAX_DECODED_BYTES = 512 * 1024 * 1024;

export interface SnapshotHeader {
  formatVersion: number;
  flags: number;
  version: number;
  epoch: number;
  createdAtMs: number;
  payloadLength: number;
  capacity: number;
  digest: Buffer;
  signature: Buffer;
}

export interface EncodedSnapshot {
  blob: Buffer;
  /** hex SHA-256 of the whole blob, as announced and written in LATEST */
  sha256: string;
  payloadLength: number;
  capacity: number;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Compresses the encoded protobuf; separate so a publisher can measure usage before framing. */
export function compressSnapshot(snapshot: Snapshot | Uint8Array): Buffer {
  const raw = snapshot instanceof Uint8Array ? snapshot : Snapshot.encode(snapshot).finish();
  return gzipSync(raw, GZIP_OPTIONS);
}

const GZIP_OPTIONS = { level: 6 };
const gzipAsync = promisify(gzip);

/** compressSnapshot's bytes, compressed on libuv's threadpool: the event loop stays free. */
export function compressPayload(raw: Uint8Array): Promise<Buffer> {
  return gzipAsync(raw, GZIP_OPTIONS);
}

/**
 * At most how many bytes gzip makes of `n` input bytes, with room to spare: zlib's own bound
 * for its default settings is n + n/4096 + n/16384 + n/2^25 + 7, plus the 18-byte gzip wrapper.
 */
export function gzipBound(n: number): number {
  return n + Math.ceil(n / 1024) + 64;
}

/**
 * The largest uncompressed payload that always fits a blob of `capacity` bytes once gzipped,
 * whatever its content, and that a node inflates (MAX_DECODED_BYTES): a publisher that keeps
 * its payloads within this never writes a snapshot past capacity or one the nodes refuse.
 */
export function maxPayloadFor(capacity: number): number {
  const room = capacity - HEADER_SIZE;
  let n = Math.max(0, Math.floor(((room - 65) * 1024) / 1025));
  while (n > 0 && gzipBound(n) > room) n--;
  return Math.min(n, MAX_DECODED_BYTES);
}

export function frameSnapshot(
  snapshot: Pick<Snapshot, "version" | "epoch" | "createdAtMs">,
  payload: Buffer,
  capacity: number,
  privateKey: KeyObject,
): EncodedSnapshot {
  const digest = createHash("sha256").update(payload).digest();
  const blob = frameBlob(snapshot, payload, digest, capacity, privateKey);
  return { blob, sha256: sha256Hex(blob), payloadLength: payload.length, capacity };
}

/**
 * frameSnapshot's result, with both SHA-256s (the payload's and the whole blob's, `capacity`
 * bytes) computed on libuv's threadpool (WebCrypto digest), so hashing megabytes does not hold
 * the event loop; the Ed25519 signature covers 80 bytes and stays inline.
 */
export async function frameSnapshotOffLoop(
  snapshot: Pick<Snapshot, "version" | "epoch" | "createdAtMs">,
  payload: Buffer,
  capacity: number,
  privateKey: KeyObject,
): Promise<EncodedSnapshot> {
  const digest = Buffer.from(await webcrypto.subtle.digest("SHA-256", payload));
  const blob = frameBlob(snapshot, payload, digest, capacity, privateKey);
  const sha256 = Buffer.from(await webcrypto.subtle.digest("SHA-256", blob)).toString("hex");
  return { blob, sha256, payloadLength: payload.length, capacity };
}

function frameBlob(
  snapshot: Pick<Snapshot, "version" | "epoch" | "createdAtMs">,
  payload: Buffer,
  digest: Buffer,
  capacity: number,
  privateKey: KeyObject,
): Buffer {
  if (HEADER_SIZE + payload.length > capacity) {
    throw new SnapshotError(
      "CORRAL_SNAPSHOT_CAPACITY_EXCEEDED",
      `snapshot needs ${HEADER_SIZE + payload.length} bytes but capacity is ${capacity}`,
    );
  }
  const blob = Buffer.alloc(capacity);
  MAGIC.copy(blob, 0);
  blob.writeUInt16BE(FORMAT_VERSION, 8);
  blob.writeUInt16BE(FLAG_GZIP, 10);
  blob.writeBigUInt64BE(BigInt(snapshot.version), 16);
  blob.writeBigUInt64BE(BigInt(snapshot.epoch), 24);
  blob.writeBigInt64BE(BigInt(snapshot.createdAtMs), 32);
  blob.writeUInt32BE(payload.length, 40);
  blob.writeUInt32BE(capacity, 44);
  digest.copy(blob, 48);
  sign(null, blob.subarray(0, SIGNED_SIZE), privateKey).copy(blob, SIGNED_SIZE);
  payload.copy(blob, HEADER_SIZE);
  return blob;
}

export function encodeSnapshot(snapshot: Snapshot, capacity: number, privateKey: KeyObject): EncodedSnapshot {
  return frameSnapshot(snapshot, compressSnapshot(snapshot), capacity, privateKey);
}

const ZEROS = Buffer.alloc(64 * 1024);

/** Padding is outside the digest and signature, so it is checked to be zero on its own. */
function isZero(bytes: Buffer): boolean {
  for (let off = 0; off < bytes.length; off += ZEROS.length) {
    const chunk = bytes.subarray(off, off + ZEROS.length);
    if (!chunk.equals(ZEROS.subarray(0, chunk.length))) return false;
  }
  return true;
}

export function readHeader(blob: Uint8Array): SnapshotHeader {
  if (blob.length < HEADER_SIZE) {
    throw new SnapshotError(
      "CORRAL_SNAPSHOT_TRUNCATED",
      `blob is ${blob.length} bytes, header needs ${HEADER_SIZE}`,
    );
  }
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.length);
  if (!b.subarray(0, 8).equals(MAGIC))
    throw new SnapshotError("CORRAL_SNAPSHOT_BAD_MAGIC", "not a Corral snapshot");
  const formatVersion = b.readUInt16BE(8);
  if (formatVersion !== FORMAT_VERSION) {
    throw new SnapshotError("CORRAL_SNAPSHOT_BAD_FORMAT", `unsupported format version ${formatVersion}`);
  }
  return {
    formatVersion,
    flags: b.readUInt16BE(10),
    version: Number(b.readBigUInt64BE(16)),
    epoch: Number(b.readBigUInt64BE(24)),
    createdAtMs: Number(b.readBigInt64BE(32)),
    payloadLength: b.readUInt32BE(40),
    capacity: b.readUInt32BE(44),
    digest: b.subarray(48, 80),
    signature: b.subarray(80, HEADER_SIZE),
  };
}

/**
 * Checks size, magic, format, digest and signature, in that order, before anything
 * is decoded. Returns the header and the (still compressed) payload.
 */
export function verifySnapshot(
  blob: Uint8Array,
  publicKey: KeyObject,
  maxCapacity: number,
): { header: SnapshotHeader; payload: Buffer } {
  if (blob.length > maxCapacity) {
    throw new SnapshotError(
      "CORRAL_SNAPSHOT_OVERSIZED",
      `blob is ${blob.length} bytes, limit is ${maxCapacity}`,
    );
  }
  const header = readHeader(blob);
  if (header.capacity !== blob.length) {
    throw new SnapshotError(
      "CORRAL_SNAPSHOT_SIZE_MISMATCH",
      `blob is ${blob.length} bytes but its header says ${header.capacity}`,
    );
  }
  if (HEADER_SIZE + header.payloadLength > blob.length) {
    throw new SnapshotError("CORRAL_SNAPSHOT_TRUNCATED", "payload runs past the end of the blob");
  }
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.length);
  const payload = b.subarray(HEADER_SIZE, HEADER_SIZE + header.payloadLength);
  const digest = createHash("sha256").update(payload).digest();
  if (!digest.equals(header.digest))
    throw new SnapshotError("CORRAL_SNAPSHOT_DIGEST_MISMATCH", "payload digest mismatch");
  if (!verify(null, b.subarray(0, SIGNED_SIZE), publicKey, header.signature)) {
    throw new SnapshotError(
      "CORRAL_SNAPSHOT_BAD_SIGNATURE",
      "signature does not verify with the configured key",
    );
  }
  if (!isZero(b.subarray(HEADER_SIZE + header.payloadLength))) {
    throw new SnapshotError("CORRAL_SNAPSHOT_BAD_PADDING", "padding after the payload is not all zero");
  }
  return { header, payload };
}

/** Inflates and decodes the payload, keeping the inflated bytes (a reader may index into them). */
export function inflateAndDecode(
  header: SnapshotHeader,
  payload: Uint8Array,
): { raw: Buffer; snapshot: Snapshot } {
  let raw: Buffer;
  let snapshot: Snapshot;
  try {
    raw =
      header.flags & FLAG_GZIP
        ? gunzipSync(payload, { maxOutputLength: MAX_DECODED_BYTES })
        : Buffer.from(payload);
    snapshot = Snapshot.decode(raw);
  } catch (err) {
    throw new SnapshotError("CORRAL_SNAPSHOT_DECODE", `payload does not decode: ${(err as Error).message}`);
  }
  if (snapshot.version !== header.version || snapshot.epoch !== header.epoch) {
    throw new SnapshotError(
      "CORRAL_SNAPSHOT_HEADER_MISMATCH",
      "header and payload disagree on version or epoch",
    );
  }
  return { raw, snapshot };
}

export function decodePayload(header: SnapshotHeader, payload: Uint8Array): Snapshot {
  return inflateAndDecode(header, payload).snapshot;
}

/** verify + decode in one call: the DP's whole check of a blob. */
export function decodeSnapshot(blob: Uint8Array, publicKey: KeyObject, maxCapacity: number): Snapshot {
  const { header, payload } = verifySnapshot(blob, publicKey, maxCapacity);
  return decodePayload(header, payload);
}
