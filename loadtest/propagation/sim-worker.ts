/**
 * Worker thread running `count` simulated nodes (sim-node.ts) from index `first`: opens their
 * connections, a few at a time, and streams their events to the parent in small batches.
 * Messages out: {connected}, {events}, {error}; in: "close".
 */
import { parentPort, workerData } from "node:worker_threads";
import { openBlobStore } from "../../runtime/blob-store/open-blob-store.ts";
import { parsePublicKey } from "../../proto/signing-keys.ts";
import { BlobChecker, type VerifyMode } from "./blob-check.ts";
import { type SimEvent, SimNode } from "./sim-node.ts";

export interface SimWorkerData {
  cpUrl: string;
  nodeSecret: string;
  blobUrl: string;
  s3Endpoint?: string;
  verifyKey: string;
  capacity: number;
  mode: VerifyMode;
  /** blob checks running at once in this worker */
  checkConcurrency: number;
  first: number;
  count: number;
  zones: string[];
  /** connections being opened at once */
  dialConcurrency: number;
}

const FLUSH_MS = 20;

async function main(data: SimWorkerData): Promise<void> {
  const port = parentPort!;
  const store = await openBlobStore(data.blobUrl, { endpoint: data.s3Endpoint });
  const checker = new BlobChecker(
    { store, publicKey: parsePublicKey(data.verifyKey), capacity: data.capacity },
    data.mode,
    data.checkConcurrency,
  );
  let batch: SimEvent[] = [];
  const flush = setInterval(() => {
    if (batch.length === 0) return;
    port.postMessage({ events: batch });
    batch = [];
  }, FLUSH_MS);
  const nodes = Array.from(
    { length: data.count },
    (_, i) => new SimNode({ ...data, index: data.first + i, checker, events: (e) => batch.push(e) }),
  );
  port.on("message", (m) => {
    if (m !== "close") return;
    for (const n of nodes) n.close();
    clearInterval(flush);
    void store.close?.();
    port.close();
  });
  let next = 0;
  const dialer = async () => {
    while (next < nodes.length) await nodes[next++]!.connect();
  };
  await Promise.all(Array.from({ length: data.dialConcurrency }, dialer));
  port.postMessage({ connected: nodes.length });
}

main(workerData as SimWorkerData).catch((err: unknown) => {
  parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) });
});
