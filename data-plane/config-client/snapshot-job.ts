/**
 * One load of the apply path, where the loader runs (the snapshot worker, or inline for boot
 * and tests): read the blob from its source (config-sources.ts), check, decode and index it
 * (load-blob.ts), and keep the blob until the applier has swapped and asks for it to be
 * written to the disk cache. The blob never leaves this thread; only the header, and the
 * index when the content is new, go back to the applier.
 */
import type { KeyObject } from "node:crypto";
import { configErrorInfo, type ErrorInfo } from "../errors.ts";
import type { ConfigSources } from "./config-sources.ts";
import { type LoadResult, loadBlob } from "./load-blob.ts";
import type { ApplyTrigger, ServedVersion } from "./version-policy.ts";

export interface JobRequest {
  trigger: ApplyTrigger;
  maxCapacity: number;
  served?: ServedVersion;
}

/** The header (and index, when new) of a loaded blob, and the version its source named. */
export type LoadedSnapshot = LoadResult & { namedVersion?: number };

/** A refused load, carrying the version the source named before the blob was read (for Nacks). */
export class LoadFailure extends Error {
  readonly code: string;
  readonly namedVersion: number | undefined;
  constructor(info: ErrorInfo, namedVersion: number | undefined) {
    super(info.message);
    this.name = "LoadFailure";
    this.code = info.code;
    this.namedVersion = namedVersion;
  }
}

export class SnapshotJob {
  private readonly sources: Pick<ConfigSources, "fetch" | "persist">;
  private readonly publicKey: KeyObject;
  /** the last blob loaded, until it is cached or the next load replaces it */
  private held: { version: number; blob: Uint8Array } | undefined;

  constructor(sources: Pick<ConfigSources, "fetch" | "persist">, publicKey: KeyObject) {
    this.sources = sources;
    this.publicKey = publicKey;
  }

  async load(req: JobRequest): Promise<LoadedSnapshot> {
    this.held = undefined;
    let namedVersion: number | undefined;
    try {
      const fetched = await this.sources.fetch(req.trigger);
      namedVersion = fetched.namedVersion;
      const result = loadBlob(
        {
          blob: fetched.blob,
          maxCapacity: req.maxCapacity,
          expectedSha256: fetched.expectedSha256,
          served: req.served,
        },
        this.publicKey,
      );
      this.held = { version: result.header.version, blob: fetched.blob };
      return { ...result, namedVersion };
    } catch (err) {
      throw new LoadFailure(configErrorInfo(err), namedVersion);
    }
  }

  /** Writes the blob of the last load to the disk cache, if it has that version. */
  async persist(version: number): Promise<void> {
    const held = this.held;
    this.held = undefined;
    if (held?.version !== version)
      throw new LoadFailure(
        { code: "CORRAL_DP_CONFIG_CACHE_WRITE", message: `version ${version} is not the last one loaded` },
        version,
      );
    await this.sources.persist(held.blob);
  }

  /** Drops the held blob (a loader that will not be asked to cache it). */
  release(): void {
    this.held = undefined;
  }
}
