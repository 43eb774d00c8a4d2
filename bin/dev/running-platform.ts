/** A started platform: its processes, addresses and secrets, and how to stop it. */
import { deriveNodeCredential } from "../../proto/node-credential.ts";
import { AdminClient } from "../admin/admin-client.ts";
import type { DirLock } from "./dir-lock.ts";
import type { ControlPlaneHandle, DataPlaneHandle, Platform } from "./platform-types.ts";
import { disposeAll, type PlatformProcess, type ProcessHandle } from "./platform-process.ts";
import type { ResolvedPorts } from "./ports.ts";
import { waitFor, waitForHttp } from "./readiness.ts";
import type { DevSecrets } from "./secrets.ts";

export interface RunningParts {
  dir: string;
  host: string;
  ports: ResolvedPorts;
  secrets: DevSecrets;
  stopGraceMs: number | undefined;
  /** every process started, in start order (the launcher's list: restarts keep their entry) */
  started: readonly PlatformProcess[];
  /** the state directory's lock, released once every process is gone */
  lock: DirLock;
  blobUrl: string;
  pgUrl: string;
  cps: ControlPlaneHandle[];
  dps: DataPlaneHandle[];
  upstreams: { http: string; grpc: string; process: PlatformProcess } | undefined;
  postgres: PlatformProcess | undefined;
}

export class RunningPlatform implements Platform {
  readonly dir: string;
  readonly host: string;
  readonly ports: ResolvedPorts;
  readonly pgUrl: string;
  readonly blobUrl: string;
  readonly cps: ControlPlaneHandle[];
  readonly dps: DataPlaneHandle[];
  readonly upstreams: { http: string; grpc: string; process: ProcessHandle } | undefined;
  readonly postgres: ProcessHandle | undefined;
  readonly secrets: DevSecrets;
  readonly #started: readonly PlatformProcess[];
  readonly #graceMs: number | undefined;
  readonly #lock: DirLock;
  #stopped: Promise<void> | undefined;

  constructor(parts: RunningParts) {
    this.dir = parts.dir;
    this.host = parts.host;
    this.ports = parts.ports;
    this.secrets = parts.secrets;
    this.pgUrl = parts.pgUrl;
    this.blobUrl = parts.blobUrl;
    this.cps = parts.cps;
    this.dps = parts.dps;
    this.upstreams = parts.upstreams;
    this.postgres = parts.postgres;
    this.#started = parts.started;
    this.#graceMs = parts.stopGraceMs;
    this.#lock = parts.lock;
  }

  get cp(): ControlPlaneHandle {
    return this.cps[0]!;
  }

  get cpUrl(): string {
    return this.cp.url;
  }

  get operatorToken(): string {
    return this.secrets.operatorToken;
  }

  get nodeSecret(): string {
    return this.secrets.nodeSecret;
  }

  nodeCredential(slot: string): string {
    return deriveNodeCredential(this.secrets.nodeSecret, slot);
  }

  get verifyKey(): string {
    return this.secrets.verifyKey;
  }

  processes(): ProcessHandle[] {
    return [...this.#started];
  }

  admin(): AdminClient {
    return new AdminClient({ url: this.cpUrl, token: this.operatorToken });
  }

  async waitUntilServing(path: string, apiKey: string, timeoutMs = 30_000): Promise<void> {
    await Promise.all(
      this.dps
        .filter((dp) => dp.running)
        .map(async (dp) => {
          await waitForHttp(`${dp.ops}/readyz`, { timeoutMs });
          let last = "no answer";
          const probe = async () => {
            last = await describeAnswer(`${dp.url}${path}`, apiKey);
            return last === "200";
          };
          await waitFor(`${dp.name} serves GET ${path}`, probe, { timeoutMs }).catch((err: Error) => {
            throw new Error(`${err.message} (last answer: ${last}; log ${dp.logFile})`);
          });
        }),
    );
  }

  stop(): Promise<void> {
    this.#stopped ??= disposeAll(this.#started, this.#graceMs).then(() => this.#lock.release());
    return this.#stopped;
  }
}

/** "200", or the status with the data plane's corral-reason, or why nothing answered. */
async function describeAnswer(url: string, apiKey: string): Promise<string> {
  try {
    const res = await fetch(url, { headers: { "x-api-key": apiKey }, signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    const reason = res.headers.get("corral-reason");
    return res.status === 200 ? "200" : `${res.status}${reason ? ` ${reason}` : ""}`;
  } catch (err) {
    return (err as Error).message;
  }
}
