/** Blob store layout (docs/design.md §3.1): immutable versions plus one small LATEST pointer. */
export const LATEST_KEY = "snapshots/LATEST";
export const MAX_POINTER_BYTES = 4096;

export interface LatestPointer {
  version: number;
  key: string;
  sha256: string;
}

export function snapshotKey(version: number): string {
  return `snapshots/${String(version).padStart(20, "0")}.snap`;
}

export function encodePointer(pointer: LatestPointer): Buffer {
  return Buffer.from(JSON.stringify(pointer));
}

/** Parses LATEST, refusing anything that is not exactly a well-formed pointer. */
export function parsePointer(bytes: Uint8Array): LatestPointer {
  if (bytes.length > MAX_POINTER_BYTES) throw new Error("LATEST pointer is too large");
  const value: unknown = JSON.parse(Buffer.from(bytes).toString("utf8"));
  if (typeof value !== "object" || value === null) throw new Error("LATEST pointer is not an object");
  const { version, key, sha256 } = value as Record<string, unknown>;
  if (!Number.isSafeInteger(version) || (version as number) < 1)
    throw new Error("LATEST pointer has a bad version");
  if (key !== snapshotKey(version as number))
    throw new Error("LATEST pointer key does not match its version");
  if (typeof sha256 !== "string" || !/^[0-9a-f]{64}$/.test(sha256))
    throw new Error("LATEST pointer has a bad sha256");
  return { version: version as number, key, sha256 };
}
