/**
 * Worker thread of WorkerSnapshotLoader: runs load-blob.ts on each blob it is sent and
 * transfers the result back (the blob itself included, for the disk cache).
 */
import type { KeyObject } from "node:crypto";
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { configErrorInfo } from "../errors.ts";
import { type LoadRequest, loadBlob } from "./load-blob.ts";
import { indexArrays, type SnapshotIndex } from "./snapshot-index.ts";
import { type LoadedSnapshot, ownBuffer, type WorkerReply } from "./snapshot-loader.ts";

/**
 * Applying config is background work: on Linux, niceness is per thread, so this lowers only
 * the worker's priority and the event loop keeps its core when the machine is busy.
 */
const BACKGROUND_NICENESS = 10;
try {
  setPriority(BACKGROUND_NICENESS);
} catch {
  // not permitted or not supported: run at normal priority
}

const port = parentPort!;
const publicKey = (workerData as { publicKey: KeyObject }).publicKey;

function transferable(index: SnapshotIndex): SnapshotIndex {
  return {
    ...index,
    payload: ownBuffer(index.payload),
    tenantRanges: ownBuffer(index.tenantRanges),
    keyTable: ownBuffer(index.keyTable),
    tenants: {
      slots: ownBuffer(index.tenants.slots),
      ids: ownBuffer(index.tenants.ids),
      idOffsets: ownBuffer(index.tenants.idOffsets),
    },
  };
}

function load(req: LoadRequest): { reply: WorkerReply; transfer: ArrayBuffer[] } {
  const result = loadBlob(req, publicKey);
  const loaded: LoadedSnapshot =
    result.outcome === "same"
      ? { ...result, blob: req.blob }
      : { ...result, blob: req.blob, index: transferable(result.index) };
  const arrays = loaded.outcome === "new" ? [loaded.blob, ...indexArrays(loaded.index)] : [loaded.blob];
  return { reply: { op: "loaded", loaded }, transfer: arrays.map((a) => a.buffer as ArrayBuffer) };
}

port.on("message", (req: LoadRequest) => {
  try {
    const { reply, transfer } = load(req);
    port.postMessage(reply, transfer);
  } catch (err) {
    port.postMessage({ op: "error", ...configErrorInfo(err) } satisfies WorkerReply);
  }
});
