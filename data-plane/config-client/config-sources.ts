/**
 * Where the apply path gets its bytes: the blob store (LATEST pointer or an announced key) and
 * the local disk cache of the last applied snapshot. Every read is bounded by the capacity.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { LATEST_KEY, MAX_POINTER_BYTES, parsePointer, snapshotKey } from "../../proto/blob-keys.ts";
import { BlobTooLargeError, type BlobStore } from "../../runtime/blob-store/blob-store.ts";
import { writeFileAtomic } from "../../runtime/blob-store/fs-blob-store.ts";
import { ConfigApplyError } from "../errors.ts";
import type { ApplyTrigger } from "./version-policy.ts";

export interface FetchedBlob {
  blob: Uint8Array;
  /** the version the source named before the blob was read, if any (for Nacks) */
  namedVersion?: number;
  expectedSha256?: string;
}

export const CACHE_FILE = "snapshot.snap";

function fetchError(err: unknown, what: string): ConfigApplyError {
  if (err instanceof ConfigApplyError) return err;
  if (err instanceof BlobTooLargeError) return new ConfigApplyError("CORRAL_SNAPSHOT_OVERSIZED", err.message);
  return new ConfigApplyError("CORRAL_DP_CONFIG_FETCH", `${what}: ${(err as Error).message}`);
}

export class ConfigSources {
  private readonly store: BlobStore;
  private readonly cachePath: string;
  private readonly maxBytes: number;

  constructor(store: BlobStore, dataDir: string, maxBytes: number) {
    this.store = store;
    this.cachePath = join(dataDir, CACHE_FILE);
    this.maxBytes = maxBytes;
  }

  get location(): string {
    return this.store.location;
  }

  async fetch(trigger: ApplyTrigger): Promise<FetchedBlob> {
    if (trigger.kind === "boot") return { blob: await this.readCache() };
    if (trigger.kind === "pull") return this.fetchLatest();
    return this.fetchAnnounced(trigger);
  }

  private async readCache(): Promise<Buffer> {
    try {
      const { size } = await stat(this.cachePath);
      if (size > this.maxBytes)
        throw new ConfigApplyError(
          "CORRAL_SNAPSHOT_OVERSIZED",
          `disk cache is ${size} bytes, limit ${this.maxBytes}`,
        );
      return await readFile(this.cachePath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT")
        throw new ConfigApplyError("CORRAL_DP_CONFIG_NO_CACHE", `no snapshot at ${this.cachePath}`);
      throw fetchError(err, "reading the disk cache");
    }
  }

  private async fetchLatest(): Promise<FetchedBlob> {
    let pointerBytes: Buffer;
    try {
      pointerBytes = await this.store.get(LATEST_KEY, MAX_POINTER_BYTES);
    } catch (err) {
      throw fetchError(err, `reading ${LATEST_KEY}`);
    }
    let pointer: ReturnType<typeof parsePointer>;
    try {
      pointer = parsePointer(pointerBytes);
    } catch (err) {
      throw new ConfigApplyError("CORRAL_DP_CONFIG_POINTER", (err as Error).message);
    }
    const blob = await this.get(pointer.key);
    return { blob, namedVersion: pointer.version, expectedSha256: pointer.sha256 };
  }

  private async fetchAnnounced(trigger: ApplyTrigger): Promise<FetchedBlob> {
    const { version, key, sha256 } = trigger;
    if (version === undefined || key !== snapshotKey(version) || !/^[0-9a-f]{64}$/.test(sha256 ?? "")) {
      throw new ConfigApplyError(
        "CORRAL_DP_CONFIG_BAD_ANNOUNCE",
        `announce of version ${version} names key ${JSON.stringify(key)} and sha256 ${JSON.stringify(sha256)}`,
      );
    }
    return { blob: await this.get(key), namedVersion: version, expectedSha256: sha256 };
  }

  private async get(key: string): Promise<Buffer> {
    try {
      return await this.store.get(key, this.maxBytes);
    } catch (err) {
      throw fetchError(err, `reading ${key}`);
    }
  }

  /** Atomic (temp, fsync, rename): a crash leaves the old cache or the new one, never a mix. */
  async persist(blob: Uint8Array): Promise<void> {
    try {
      await writeFileAtomic(this.cachePath, blob);
    } catch (err) {
      throw new ConfigApplyError("CORRAL_DP_CONFIG_CACHE_WRITE", (err as Error).message);
    }
  }
}
