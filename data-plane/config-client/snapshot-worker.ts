/**
 * Worker thread of WorkerSnapshotLoader: runs load-blob.ts on the blob it is sent, keeps the
 * validated tenants, and returns them a chunk per request. One load at a time.
 */
import type { KeyObject } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";
import { configErrorInfo } from "../errors.ts";
import { loadBlob } from "./load-blob.ts";
import type { PlainTenant } from "./plain-config.ts";
import { chunkEnd, type WorkerReply, type WorkerRequest } from "./snapshot-loader.ts";

const port = parentPort!;
const publicKey = (workerData as { publicKey: KeyObject }).publicKey;
let tenants: PlainTenant[] = [];
let cursor = 0;

function reply(msg: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

function onLoad(req: Extract<WorkerRequest, { op: "load" }>["req"]): void {
  tenants = [];
  cursor = 0;
  try {
    const result = loadBlob(req, publicKey);
    if (result.outcome === "new") tenants = result.tenants;
    const meta = result.outcome === "new" ? result.meta : undefined;
    reply({ op: "loaded", outcome: result.outcome, header: result.header, meta, blob: req.blob }, [
      req.blob.buffer as ArrayBuffer,
    ]);
  } catch (err) {
    reply({ op: "error", ...configErrorInfo(err) });
  }
}

function onChunk(): void {
  if (cursor >= tenants.length) {
    reply({ op: "chunk", tenants: null });
    return;
  }
  const end = chunkEnd(tenants, cursor);
  const chunk = tenants.slice(cursor, end);
  cursor = end;
  reply({ op: "chunk", tenants: chunk });
}

port.on("message", (msg: WorkerRequest) => {
  if (msg.op === "load") onLoad(msg.req);
  else if (msg.op === "chunk") onChunk();
  else {
    tenants = [];
    cursor = 0;
  }
});
