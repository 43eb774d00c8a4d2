/** Where snapshots live between the CP that writes them and the DPs that read them. */
export interface BlobStore {
  /** Writes the whole object; readers see either the old bytes or the new ones, never a mix. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** Reads the whole object; refuses objects larger than maxBytes. Throws BlobNotFoundError if absent. */
  get(key: string, maxBytes: number): Promise<Buffer>;
  /** Removes the object; removing one that is absent succeeds (deletes are retried). */
  delete(key: string): Promise<void>;
  /** Human-readable location for logs and status (never contains credentials). */
  readonly location: string;
  close?(): Promise<void>;
}

export class BlobNotFoundError extends Error {
  readonly code = "CORRAL_BLOB_NOT_FOUND";
  constructor(key: string) {
    super(`blob ${key} not found`);
    this.name = "BlobNotFoundError";
  }
}

export class BlobTooLargeError extends Error {
  readonly code = "CORRAL_BLOB_TOO_LARGE";
  constructor(key: string, size: number, max: number) {
    super(`blob ${key} is ${size} bytes, limit is ${max}`);
    this.name = "BlobTooLargeError";
  }
}

/** Keys are relative paths of [A-Za-z0-9._-] segments: no traversal, no absolute paths. */
export function assertValidKey(key: string): void {
  if (
    !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(key) ||
    key.split("/").some((s) => s === "." || s === "..")
  ) {
    throw new Error(`invalid blob key ${JSON.stringify(key)}`);
  }
}
