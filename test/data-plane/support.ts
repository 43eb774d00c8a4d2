/** Shared set-up for data-plane component tests: temp dirs, a recording upstream, a node. */
import { deriveNodeCredential } from "../../proto/node-credential.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { FsBlobStore } from "../../runtime/blob-store/fs-blob-store.ts";
import { type DataPlaneOptions, type DataPlaneProcess, runDataPlane } from "../../data-plane/main.ts";
import { CAPACITY, type SigningPair } from "./fixtures.ts";
import { listenOnLoopback } from "../support/http-server.ts";

export interface Workspace {
  dir: string;
  blobDir: string;
  dataDir: string;
  store: FsBlobStore;
  remove(): Promise<void>;
}

export async function workspace(): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), "corral-dp-"));
  const blobDir = join(dir, "blobs");
  return {
    dir,
    blobDir,
    dataDir: join(dir, "data"),
    store: new FsBlobStore(blobDir),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * An upstream that records requests and echoes; a path with /slow/<ms> in it answers late.
 * `answerHeaders` are added to every answer.
 */
export async function recordingUpstream(answerHeaders: Record<string, string> = {}): Promise<{
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}> {
  const seen: SeenRequest[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
    const slow = /\/slow\/(\d+)/.exec(req.url ?? "");
    if (slow) await new Promise((r) => setTimeout(r, Number(slow[1])));
    if (res.destroyed) return;
    res.writeHead(200, {
      "content-type": "text/plain",
      "x-upstream": "yes",
      "keep-alive": "timeout=5",
      ...answerHeaders,
    });
    res.end(`echo ${req.method} ${req.url} ${body}`);
  });
  return { ...(await listenOnLoopback(server)), seen };
}

/** The fleet secret of data-plane tests that need no real control plane. */
export const TEST_NODE_SECRET = "test-node-secret-0123456789abcdef";

/** The node credential of a slot under TEST_NODE_SECRET. */
export function testNodeCredential(slot: string): string {
  return deriveNodeCredential(TEST_NODE_SECRET, slot);
}

export interface NodeSpec {
  ws: Workspace;
  pair: SigningPair;
  cpUrl: string;
  /** default: the slot's credential under TEST_NODE_SECRET */
  token?: string;
  pollMs?: number;
  blobDir?: string;
  env?: Record<string, string>;
  options?: DataPlaneOptions;
}

export function startNode(spec: NodeSpec): Promise<DataPlaneProcess> {
  return runDataPlane(
    {
      CORRAL_CP_URL: spec.cpUrl,
      CORRAL_NODE_TOKEN: spec.token ?? testNodeCredential(spec.env?.CORRAL_SLOT ?? "dp-0"),
      CORRAL_VERIFY_KEY: spec.pair.verifyKeyText,
      CORRAL_BLOB_URL: pathToFileURL(spec.blobDir ?? spec.ws.blobDir).href,
      CORRAL_SLOT: "dp-0",
      CORRAL_ZONE: "zone-b",
      CORRAL_HTTP_PORT: "0",
      CORRAL_GRPC_PORT: "0",
      CORRAL_OPS_PORT: "0",
      CORRAL_DATA_DIR: spec.ws.dataDir,
      CORRAL_POLL_INTERVAL_MS: String(spec.pollMs ?? 60_000),
      CORRAL_SNAPSHOT_CAPACITY: String(CAPACITY),
      CORRAL_LOG_LEVEL: "silent",
      ...spec.env,
    },
    { drainTimeoutMs: 2000, ...spec.options },
  );
}
