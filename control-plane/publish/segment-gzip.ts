/**
 * Gzip of a snapshot payload in segments, reusing the compressed bytes of segments that did not
 * change since the last version (issue 14 item 5: gzip of a 28 MB payload was 0.2–0.9 s per
 * version at 100,000 tenants). Each segment is deflated on its own (raw deflate ended by a sync
 * flush: byte-aligned, no final bit), so the deflate streams of the segments concatenated, one
 * empty final block, and the gzip header and trailer (CRC-32 and length of the whole payload)
 * are one ordinary gzip member: nodes inflate it like any other. Deflating runs on libuv's
 * threadpool; the CRC-32 of the payload (tens of ms at 28 MB) on the event loop.
 *
 * A segment names what its bytes were built from (`members`, compared by identity): the same
 * members in the same order are the same bytes, so their deflated bytes are taken from the
 * cache. A segment without members (the frame: version, time, slots) is deflated every time.
 * The cache keeps what the last call used, nothing older.
 */
import { promisify } from "node:util";
import { constants, crc32, deflateRaw } from "node:zlib";

export interface PayloadSegment {
  /** a view of the payload; the segments in order cover it exactly */
  bytes: Uint8Array;
  /** what the bytes are made of, by identity (undefined: compress every time) */
  members?: readonly object[];
}

const deflateRawAsync = promisify(deflateRaw);
const DEFLATE = { level: 6, finishFlush: constants.Z_SYNC_FLUSH };
/** gzip header: magic, deflate, no flags, no mtime, no extra flags, OS unix (as zlib's gzip writes it) */
const HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
/** an empty final block (fixed Huffman, end of block) */
const FINAL_BLOCK = Buffer.from([3, 0]);

interface Deflated {
  members: readonly object[];
  bytes: Buffer;
}

export class SegmentGzip {
  #cache = new Map<object, Deflated>();
  /** segments deflated by the last call (the others came from the cache) */
  deflated = 0;

  async gzip(payload: Uint8Array, segments: readonly PayloadSegment[]): Promise<Buffer> {
    const next = new Map<object, Deflated>();
    let deflated = 0;
    // settled, not all: no deflate may still read the payload once this returns or throws (the
    // compiler writes a later payload into the same memory)
    const settled = await Promise.allSettled(
      segments.map(async (s) => {
        const first = s.members?.[0];
        if (!s.members || first === undefined) {
          deflated++;
          return deflateRawAsync(s.bytes, DEFLATE);
        }
        const kept = this.#cache.get(first);
        const hit = kept && sameMembers(kept.members, s.members) ? kept : undefined;
        if (!hit) deflated++;
        const entry = hit ?? { members: s.members, bytes: await deflateRawAsync(s.bytes, DEFLATE) };
        next.set(first, entry);
        return entry.bytes;
      }),
    );
    const parts = settled.map((r) => {
      if (r.status === "rejected") throw r.reason;
      return r.value;
    });
    this.#cache = next;
    this.deflated = deflated;
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc32(payload), 0);
    trailer.writeUInt32LE(payload.byteLength % 2 ** 32, 4);
    return Buffer.concat([HEADER, ...parts, FINAL_BLOCK, trailer]);
  }
}

function sameMembers(a: readonly object[], b: readonly object[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Past this many bytes a segment ends at the next tenant whose id says so (`cutsAfter`)... */
const SEGMENT_MIN_BYTES = 32 * 1024;
/** ...and at this many bytes whatever the ids say. */
const SEGMENT_MAX_BYTES = 256 * 1024;

/**
 * Whether a segment may end after this tenant: about one tenant in 64, by its id alone, so an
 * inserted or deleted tenant moves the boundaries of its own segment only (content-defined).
 */
export function cutsAfter(id: string): boolean {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h & 63) === 0;
}

/** A tenant's entry where it lies in the payload (snapshot-payload.ts), and whether a run may end after it. */
export interface SegmentEntry {
  at: number;
  len: number;
  cut: boolean;
}

/**
 * The payload in segments: the frame before the tenants, the tenants' entries in runs of at
 * least SEGMENT_MIN_BYTES (the last run may be shorter) whose members are the tenants, the
 * frame after them. `tenants` are the payload's entries in order, each a view of `payload`.
 */
export function payloadSegments(payload: Buffer, tenants: readonly SegmentEntry[]): PayloadSegment[] {
  if (tenants.length === 0) return [{ bytes: payload }];
  const segments: PayloadSegment[] = [{ bytes: payload.subarray(0, tenants[0]!.at) }];
  let from = 0;
  let bytes = 0;
  for (let i = 0; i < tenants.length; i++) {
    const t = tenants[i]!;
    bytes += t.len;
    const last = i === tenants.length - 1;
    if (!last && bytes < SEGMENT_MAX_BYTES && !(bytes >= SEGMENT_MIN_BYTES && t.cut)) continue;
    segments.push({
      bytes: payload.subarray(tenants[from]!.at, t.at + t.len),
      members: tenants.slice(from, i + 1),
    });
    from = i + 1;
    bytes = 0;
  }
  const last = tenants[tenants.length - 1]!;
  segments.push({ bytes: payload.subarray(last.at + last.len) });
  return segments;
}
