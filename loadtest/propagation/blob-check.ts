/**
 * What a simulated node does with an announced version: fetch the blob from the blob store
 * (bounded by the capacity) and check it the way a data plane does before anything else: the
 * announced whole-blob SHA-256, then size, magic, payload digest and Ed25519 signature
 * (proto/snapshot-codec.ts verifySnapshot), and the header's version against the announced one.
 * It does not decode the payload: that cost is the data plane's, measured by its own bench.
 *
 * Two ways to share the work among the simulated nodes of one worker thread:
 * - "each": every node fetches and checks the blob itself (one machine then does the work of
 *   the whole fleet, so the last Ack measures this machine's CPU more than the control plane);
 * - "shared": the first node of a worker to see a version fetches and checks it, the others
 *   wait for that result (as if each node ran on its own machine, in parallel).
 */
import type { KeyObject } from "node:crypto";
import { snapshotKey } from "../../proto/blob-keys.ts";
import type { BlobStore } from "../../runtime/blob-store/blob-store.ts";
import { sha256Hex, verifySnapshot } from "../../proto/snapshot-codec.ts";

export type VerifyMode = "each" | "shared";
export const VERIFY_MODES: readonly VerifyMode[] = ["each", "shared"];

export interface AnnouncedBlob {
  version: number;
  key: string;
  sha256: string;
}

export interface BlobCheckDeps {
  store: BlobStore;
  publicKey: KeyObject;
  capacity: number;
}

/** Fetches and checks one announced blob; resolves with the time it took, throws with the reason. */
export async function fetchAndCheck(deps: BlobCheckDeps, a: AnnouncedBlob): Promise<number> {
  const started = performance.now();
  if (a.key !== snapshotKey(a.version)) throw new Error(`announce of ${a.version} names key ${a.key}`);
  const blob = await deps.store.get(a.key, deps.capacity);
  if (sha256Hex(blob) !== a.sha256)
    throw new Error(`blob of ${a.version} does not have the announced sha256`);
  const { header } = verifySnapshot(blob, deps.publicKey, deps.capacity);
  if (header.version !== a.version) throw new Error(`blob of ${a.version} says version ${header.version}`);
  return performance.now() - started;
}

/** At most `limit` tasks at a time, in arrival order (bounds the blobs held in memory). */
export class TaskLimiter {
  private readonly limit: number;
  private running = 0;
  private readonly queue: Array<() => void> = [];

  constructor(limit: number) {
    this.limit = Math.max(1, limit);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.queue.shift()?.();
    }
  }
}

/** The check as the nodes of one worker run it, in the chosen mode. */
export class BlobChecker {
  private readonly deps: BlobCheckDeps;
  private readonly mode: VerifyMode;
  private readonly limiter: TaskLimiter;
  private readonly shared = new Map<string, Promise<number>>();

  constructor(deps: BlobCheckDeps, mode: VerifyMode, concurrency: number) {
    this.deps = deps;
    this.mode = mode;
    this.limiter = new TaskLimiter(concurrency);
  }

  check(a: AnnouncedBlob): Promise<number> {
    if (this.mode === "each") return this.limiter.run(() => fetchAndCheck(this.deps, a));
    const id = `${a.version}/${a.sha256}`;
    let result = this.shared.get(id);
    if (!result) {
      result = this.limiter.run(() => fetchAndCheck(this.deps, a));
      this.shared.set(id, result);
      if (this.shared.size > 4) this.shared.delete(this.shared.keys().next().value!);
    }
    return result;
  }
}
