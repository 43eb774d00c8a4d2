/**
 * One real control plane for an integration test file: a private Postgres, a temp
 * filesystem blob store, fresh signing key and tokens, HTTP on a free port, logs captured.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pathToFileURL } from "node:url";
import { FsBlobStore } from "../../runtime/blob-store/fs-blob-store.ts";
import { deriveNodeCredential } from "../../proto/node-credential.ts";
import { generateSigningKeyPair, parsePublicKey } from "../../proto/signing-keys.ts";
import { type ControlPlane, type ControlPlaneOptions, runControlPlane } from "../../control-plane/main.ts";
import { startPostgres, type TestPostgres } from "../support/postgres.ts";
import type { AdminPoster } from "../support/tenants.ts";

export interface ApiResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field in the tests
  body: any;
}

export interface Harness {
  cp: ControlPlane;
  pg: TestPostgres;
  blobs: FsBlobStore;
  adminToken: string;
  /** CORRAL_NODE_SECRET of the control plane */
  nodeSecret: string;
  /** the node credential of one slot (CORRAL_NODE_TOKEN of its data plane) */
  nodeCredential(slot: string): string;
  publicKey: ReturnType<typeof parsePublicKey>;
  env: Record<string, string>;
  logs: string[];
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
  /** restarts the control plane on the same database and blob store, optionally with other settings */
  restart(options?: ControlPlaneOptions, env?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(
  options: ControlPlaneOptions = {},
  extraEnv: Record<string, string> = {},
): Promise<Harness> {
  const pg = await startPostgres();
  const blobDir = await mkdtemp(join(tmpdir(), "corral-cp-blobs-"));
  const keys = generateSigningKeyPair();
  const logs: string[] = [];
  const logDestination = new Writable({
    write(chunk, _enc, done) {
      logs.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  const h = {
    pg,
    blobs: new FsBlobStore(blobDir),
    adminToken: `adm_${randomBytes(24).toString("base64url")}`,
    nodeSecret: randomBytes(32).toString("base64url"),
    publicKey: parsePublicKey(keys.publicKey),
    logs,
  } as Harness;
  h.nodeCredential = (slot) => deriveNodeCredential(h.nodeSecret, slot);
  h.env = {
    CORRAL_PG_URL: pg.url,
    CORRAL_BLOB_URL: pathToFileURL(blobDir).href,
    CORRAL_HTTP_PORT: "0",
    CORRAL_GRPC_PORT: "0",
    CORRAL_NODE_SECRET: h.nodeSecret,
    CORRAL_SIGNING_KEY: keys.privateKey,
    CORRAL_OPERATOR_TOKEN: h.adminToken,
    CORRAL_SNAPSHOT_CAPACITY: String(256 * 1024),
    CORRAL_CP_ID: "cp-test",
    CORRAL_LOG_LEVEL: "info",
    ...extraEnv,
  };
  const start = (opts: ControlPlaneOptions) =>
    runControlPlane(h.env, { debounceMs: 20, maxDelayMs: 200, logDestination, ...opts });
  try {
    h.cp = await start(options);
  } catch (err) {
    await pg.stop();
    throw err;
  }
  h.api = async (method, path, body, headers = {}) => {
    const res = await fetch(`${h.cp.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${h.adminToken}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };
  h.restart = async (opts = {}, env = {}) => {
    await h.cp.close();
    Object.assign(h.env, env);
    h.cp = await start({ ...options, ...opts });
  };
  h.close = async () => {
    await h.cp.close().catch(() => {});
    await pg.stop();
    await rm(blobDir, { recursive: true, force: true });
  };
  return h;
}

/** The harness's admin API as a client that resolves with a created resource or throws. */
export function adminOf(h: Pick<Harness, "api">): AdminPoster {
  return {
    async post<T>(path: string, body: unknown): Promise<T> {
      const res = await h.api("POST", path, body);
      if (res.status >= 300) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body as T;
    },
  };
}
