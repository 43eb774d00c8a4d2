/**
 * Flat lookup tables over ArrayBuffers (pure). The snapshot worker builds them and transfers
 * them to the main thread without copying, so applying a 100k-tenant snapshot creates no
 * per-tenant objects on the event loop, and the garbage collector never walks the indexes.
 *
 * Key table: open addressing, linear probing, slots of 40 bytes:
 *   [0, 32) SHA-256 of the key, [32, 36) tenant index (u32 LE, 0xffffffff = empty),
 *   [36, 40) ordinal of the key within its tenant.
 * Tenant table: slots of 8 bytes: [0, 4) FNV-1a of the tenant id, [4, 8) tenant index; the id
 * itself is checked against `ids` (UTF-8, delimited by idOffsets).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { TenantTables } from "../model/snapshot-index.ts";

const KEY_SLOT = 40;
const TENANT_SLOT = 8;
const EMPTY = 0xffffffff;

export interface KeyRef {
  hash: Uint8Array;
  tenantIndex: number;
  ordinal: number;
}

function capacityFor(count: number): number {
  let cap = 16;
  while (cap < count * 2) cap *= 2;
  return cap;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export class DuplicateKeyError extends Error {
  readonly key: KeyRef;
  constructor(key: KeyRef) {
    super("a key hash appears twice");
    this.key = key;
  }
}

function sameHash(table: Uint8Array, at: number, hash: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) if (table[at + i] !== hash[i]) return false;
  return true;
}

/** Throws DuplicateKeyError when two keys have the same hash. */
export function buildKeyTable(keys: readonly KeyRef[]): Uint8Array {
  const cap = capacityFor(keys.length);
  const table = new Uint8Array(cap * KEY_SLOT);
  const dv = view(table);
  for (let s = 0; s < cap; s++) dv.setUint32(s * KEY_SLOT + 32, EMPTY, true);
  for (const k of keys) {
    if (k.hash.length !== 32) throw new Error("key hashes are 32 bytes");
    let s = view(k.hash).getUint32(0, true) & (cap - 1);
    while (dv.getUint32(s * KEY_SLOT + 32, true) !== EMPTY) {
      if (sameHash(table, s * KEY_SLOT, k.hash)) throw new DuplicateKeyError(k);
      s = (s + 1) & (cap - 1);
    }
    table.set(k.hash, s * KEY_SLOT);
    dv.setUint32(s * KEY_SLOT + 32, k.tenantIndex, true);
    dv.setUint32(s * KEY_SLOT + 36, k.ordinal, true);
  }
  return table;
}

/** SHA-256 of a public host (lower case, no port): its key in the public host table. */
export function hashHost(host: string): Buffer {
  return createHash("sha256").update(host).digest();
}

/** The slot of a key hash; the final comparison is constant time. */
export function findKey(
  table: Uint8Array,
  hash: Uint8Array,
): { tenantIndex: number; ordinal: number } | undefined {
  const cap = table.length / KEY_SLOT;
  if (cap === 0 || hash.length !== 32) return undefined;
  const dv = view(table);
  const h0 = view(hash).getUint32(0, true);
  const h1 = view(hash).getUint32(4, true);
  for (let s = h0 & (cap - 1), probes = 0; probes < cap; s = (s + 1) & (cap - 1), probes++) {
    const at = s * KEY_SLOT;
    const tenantIndex = dv.getUint32(at + 32, true);
    if (tenantIndex === EMPTY) return undefined;
    if (dv.getUint32(at, true) !== h0 || dv.getUint32(at + 4, true) !== h1) continue;
    if (!timingSafeEqual(table.subarray(at, at + 32), hash)) continue;
    return { tenantIndex, ordinal: dv.getUint32(at + 36, true) };
  }
  return undefined;
}

/** FNV-1a over the UTF-16 code units (ids are ASCII slugs). */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function buildTenantTables(ids: readonly string[]): TenantTables {
  const encoded = ids.map((id) => Buffer.from(id, "utf8"));
  const idOffsets = new Uint32Array(ids.length + 1);
  for (let i = 0; i < ids.length; i++) idOffsets[i + 1] = idOffsets[i]! + encoded[i]!.length;
  const idBytes = new Uint8Array(idOffsets[ids.length]!);
  for (const [i, b] of encoded.entries()) idBytes.set(b, idOffsets[i]!);
  const cap = capacityFor(ids.length);
  const slots = new Uint8Array(cap * TENANT_SLOT);
  const dv = view(slots);
  for (let s = 0; s < cap; s++) dv.setUint32(s * TENANT_SLOT + 4, EMPTY, true);
  ids.forEach((id, index) => {
    const h = fnv1a(id);
    let s = h & (cap - 1);
    while (dv.getUint32(s * TENANT_SLOT + 4, true) !== EMPTY) s = (s + 1) & (cap - 1);
    dv.setUint32(s * TENANT_SLOT, h, true);
    dv.setUint32(s * TENANT_SLOT + 4, index, true);
  });
  return { slots, ids: idBytes, idOffsets };
}

function idEquals(t: TenantTables, index: number, id: string): boolean {
  const start = t.idOffsets[index]!;
  const end = t.idOffsets[index + 1]!;
  if (end - start !== id.length) return false;
  for (let i = 0; i < id.length; i++) if (t.ids[start + i] !== id.charCodeAt(i)) return false;
  return true;
}

export function findTenant(t: TenantTables, id: string): number | undefined {
  const cap = t.slots.length / TENANT_SLOT;
  if (cap === 0) return undefined;
  const dv = view(t.slots);
  const h = fnv1a(id);
  for (let s = h & (cap - 1), probes = 0; probes < cap; s = (s + 1) & (cap - 1), probes++) {
    const index = dv.getUint32(s * TENANT_SLOT + 4, true);
    if (index === EMPTY) return undefined;
    if (dv.getUint32(s * TENANT_SLOT, true) === h && idEquals(t, index, id)) return index;
  }
  return undefined;
}
