/** The public shape of a started platform (see platform.ts). */
import type { AdminClient } from "../admin/admin-client.ts";
import type { Env } from "./managed-child.ts";
import type { ProcessHandle } from "./platform-process.ts";
import type { PortPlan, ResolvedPorts } from "./ports.ts";
import type { DevSecrets } from "./secrets.ts";

export interface PlatformOptions {
  /** state directory: secrets.json, pglite/, blobs/, dp-<slot>/, logs/ (created if missing) */
  dir: string;
  host?: string;
  /** base ports (docs/design.md §9.3 defaults); 0 or "free" = any free port */
  ports?: Partial<PortPlan> | "free";
  dataPlanes?: number;
  controlPlanes?: number;
  zones?: readonly string[];
  /** "pglite" (default): PGlite under <dir>/pglite behind a socket; or an existing Postgres */
  pg?: "pglite" | { url: string };
  /** default file://<dir>/blobs */
  blobUrl?: string;
  /** start the demo HTTP and gRPC upstreams (default true) */
  demoUpstreams?: boolean;
  /** added to the environment of every control and data plane (e.g. CORRAL_S3_ENDPOINT) */
  extraEnv?: Env;
  cpEnv?: Env;
  dpEnv?: Env | ((slot: string, index: number) => Env);
  logLevel?: string;
  /** default: loaded from (or generated into) <dir>/secrets.json */
  secrets?: DevSecrets;
  /** per process (default 30 s) */
  readyTimeoutMs?: number;
  /** SIGTERM to SIGKILL (default 5 s) */
  stopGraceMs?: number;
  cwd?: string;
  signal?: AbortSignal;
  onEvent?: (event: PlatformEvent) => void;
}

export type PlatformEvent =
  | { type: "line"; name: string; line: string; stream: "stdout" | "stderr" }
  | { type: "ready"; name: string; pid: number | undefined; ms: number }
  | { type: "exit"; name: string; code: number | null; signal: NodeJS.Signals | null; logFile: string };

export interface ControlPlaneHandle extends ProcessHandle {
  id: string;
  url: string;
  grpc: string;
}

export interface DataPlaneHandle extends ProcessHandle {
  slot: string;
  zone: string;
  url: string;
  grpc: string;
  ops: string;
}

export interface Platform {
  dir: string;
  host: string;
  ports: ResolvedPorts;
  pgUrl: string;
  blobUrl: string;
  cpUrl: string;
  cp: ControlPlaneHandle;
  cps: ControlPlaneHandle[];
  dps: DataPlaneHandle[];
  upstreams: { http: string; grpc: string; process: ProcessHandle } | undefined;
  postgres: ProcessHandle | undefined;
  secrets: DevSecrets;
  operatorToken: string;
  /** CORRAL_NODE_SECRET of the control plane(s) */
  nodeSecret: string;
  /** the node credential of a slot (CORRAL_NODE_TOKEN of its data plane) */
  nodeCredential(slot: string): string;
  verifyKey: string;
  processes(): ProcessHandle[];
  admin(): AdminClient;
  /** every running data plane is ready and answers 200 to GET path with the key */
  waitUntilServing(path: string, apiKey: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}
