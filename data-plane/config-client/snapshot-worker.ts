/**
 * Worker thread of WorkerSnapshotLoader: opens the blob store and the disk cache from the
 * settings it is started with, runs one job (snapshot-job.ts) per message, in order, and
 * transfers only the index of new content back. The blob stays here.
 */
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { openBlobStore } from "../../runtime/blob-store/open-blob-store.ts";
import { configErrorInfo } from "../errors.ts";
import { ConfigSources } from "./config-sources.ts";
import type { SnapshotIndex } from "../model/snapshot-index.ts";
import { indexArrays } from "./snapshot-index.ts";
import { type LoadedSnapshot, SnapshotJob } from "./snapshot-job.ts";
import { ownBuffer, type SourceSettings, type WorkerCall, type WorkerReply } from "./snapshot-loader.ts";

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
const settings = workerData as SourceSettings;
const job: Promise<SnapshotJob> = openBlobStore(settings.blobUrl, { endpoint: settings.s3Endpoint }).then(
  (store) =>
    new SnapshotJob(new ConfigSources(store, settings.dataDir, settings.maxBytes), settings.publicKey),
);

function transferable(index: SnapshotIndex): SnapshotIndex {
  return {
    ...index,
    payload: ownBuffer(index.payload),
    tenantRanges: ownBuffer(index.tenantRanges),
    keyTable: ownBuffer(index.keyTable),
    publicHosts: ownBuffer(index.publicHosts),
    tenants: {
      slots: ownBuffer(index.tenants.slots),
      ids: ownBuffer(index.tenants.ids),
      idOffsets: ownBuffer(index.tenants.idOffsets),
    },
  };
}

async function run(call: WorkerCall): Promise<{ reply: WorkerReply; transfer: ArrayBuffer[] }> {
  const j = await job;
  if (call.op === "persist") {
    await j.persist(call.version);
    return { reply: { op: "persisted" }, transfer: [] };
  }
  const result = await j.load(call.req);
  if (result.outcome === "same") return { reply: { op: "loaded", loaded: result }, transfer: [] };
  const loaded: LoadedSnapshot = { ...result, index: transferable(result.index) };
  const transfer = indexArrays(loaded.index).map((a) => a.buffer as ArrayBuffer);
  return { reply: { op: "loaded", loaded }, transfer };
}

/** One call at a time, in arrival order: replies are matched to calls by order. */
let queue = Promise.resolve();
port.on("message", (call: WorkerCall) => {
  queue = queue.then(async () => {
    try {
      const { reply, transfer } = await run(call);
      port.postMessage(reply, transfer);
    } catch (err) {
      const namedVersion = (err as { namedVersion?: number }).namedVersion;
      port.postMessage({ op: "error", ...configErrorInfo(err), namedVersion } satisfies WorkerReply);
    }
  });
});
