/**
 * Chaos-test support: a real Postgres, two control-plane replicas and two data planes as
 * child processes (bin/dev/platform.ts) sharing one filesystem blob store, plus what the
 * tests observe: the lease row and versions in Postgres, LATEST, every "config applied"
 * a data plane logs, and a sampler of each data plane's /status version.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import {
  type ControlPlaneHandle,
  type Platform,
  type PlatformEvent,
  startPlatform,
} from "../../bin/dev/platform.ts";
import { LATEST_KEY, type LatestPointer, parsePointer, snapshotKey } from "../../proto/blob-keys.ts";
import { FsBlobStore } from "../../runtime/blob-store/fs-blob-store.ts";
import type { Snapshot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { parsePublicKey } from "../../proto/signing-keys.ts";
import { decodeSnapshot } from "../../proto/snapshot-codec.ts";
import { startPostgres, type TestPostgres } from "../support/postgres.ts";

export const LEASE_TTL_MS = 2000;
export const LATEST_REWRITE_MS = 1000;
export const CAPACITY = 256 * 1024;

export interface VersionRow {
  version: number;
  epoch: number;
  source: string;
  publisher: string;
  sha256: string;
  createdAtMs: number;
}

export class ReplicaCluster {
  readonly platform: Platform;
  readonly db: pg.Pool;
  readonly blobs: FsBlobStore;
  /** per slot, every version its node logged as applied, in order */
  readonly applied = new Map<string, number[]>();
  /** per process name, its log lines */
  readonly lines = new Map<string, string[]>();
  /** per slot, the versions /status reported, in order of sampling */
  readonly sampled = new Map<string, number[]>();
  private readonly pgServer: TestPostgres;
  private readonly dir: string;
  private stopSampling = () => {};

  private constructor(platform: Platform, pgServer: TestPostgres, dir: string) {
    this.platform = platform;
    this.pgServer = pgServer;
    this.dir = dir;
    this.db = new pg.Pool({ connectionString: pgServer.url, max: 3 });
    this.db.on("error", () => {});
    this.blobs = new FsBlobStore(fileURLToPath(platform.blobUrl));
  }

  static async start(): Promise<ReplicaCluster> {
    const dir = await mkdtemp(join(tmpdir(), "corral-chaos-"));
    const pgServer = await startPostgres();
    let cluster: ReplicaCluster | undefined;
    const onEvent = (e: PlatformEvent) => cluster?.record(e);
    const early: PlatformEvent[] = [];
    try {
      const platform = await startPlatform({
        dir,
        ports: "free",
        controlPlanes: 2,
        dataPlanes: 2,
        pg: { url: pgServer.url },
        demoUpstreams: false,
        extraEnv: { CORRAL_SNAPSHOT_CAPACITY: String(CAPACITY) },
        cpEnv: {
          CORRAL_LEASE_TTL_MS: String(LEASE_TTL_MS),
          CORRAL_LATEST_REWRITE_MS: String(LATEST_REWRITE_MS),
          CORRAL_VERSION_POLL_MS: "500",
        },
        dpEnv: { CORRAL_POLL_INTERVAL_MS: "1000" },
        stopGraceMs: 3000,
        readyTimeoutMs: 30_000,
        onEvent: (e) => (cluster ? onEvent(e) : early.push(e)),
      });
      cluster = new ReplicaCluster(platform, pgServer, dir);
      for (const e of early) cluster.record(e);
      cluster.startSampling();
      return cluster;
    } catch (err) {
      await pgServer.stop();
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.stopSampling();
    await this.platform.stop();
    await this.db.end();
    await this.pgServer.stop();
    await rm(this.dir, { recursive: true, force: true });
  }

  cp(id: string): ControlPlaneHandle {
    const cp = this.platform.cps.find((c) => c.id === id);
    if (!cp) throw new Error(`no control plane ${id}`);
    return cp;
  }

  async lease(): Promise<{ holder: string; epoch: number }> {
    const { rows } = await this.db.query("SELECT holder, epoch::int AS epoch FROM publisher_lease");
    return rows[0];
  }

  /** the lease holder and the other replica */
  async roles(): Promise<{ leader: ControlPlaneHandle; other: ControlPlaneHandle; epoch: number }> {
    const { holder, epoch } = await this.lease();
    const leader = this.cp(holder);
    return { leader, other: this.platform.cps.find((c) => c !== leader)!, epoch };
  }

  async versions(): Promise<VersionRow[]> {
    const { rows } = await this.db.query(
      `SELECT version::int AS version, epoch::int AS epoch, source, publisher, sha256,
              (extract(epoch FROM created_at) * 1000)::float8 AS "createdAtMs"
       FROM config_versions ORDER BY version`,
    );
    return rows;
  }

  async newest(): Promise<VersionRow> {
    return (await this.versions()).at(-1)!;
  }

  async latestPointer(): Promise<LatestPointer> {
    return parsePointer(await this.blobs.get(LATEST_KEY, 4096));
  }

  async snapshot(version: number): Promise<Snapshot> {
    return decodeSnapshot(
      await this.blobs.get(snapshotKey(version), CAPACITY),
      parsePublicKey(this.platform.verifyKey),
      CAPACITY,
    );
  }

  async admin(cp: ControlPlaneHandle, method: string, path: string, body?: unknown) {
    const res = await fetch(`${cp.url}/admin/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.platform.operatorToken}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  async metric(cp: ControlPlaneHandle, line: RegExp): Promise<number | undefined> {
    const text = await (await fetch(`${cp.url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const found = text.split("\n").find((l) => line.test(l));
    return found === undefined ? undefined : Number(found.split(" ").at(-1));
  }

  logged(name: string, msg: string): boolean {
    return (this.lines.get(name) ?? []).some((l) => l.includes(`"msg":"${msg}"`));
  }

  private record(e: PlatformEvent): void {
    if (e.type !== "line") return;
    const lines = this.lines.get(e.name) ?? [];
    lines.push(e.line);
    this.lines.set(e.name, lines);
    if (!e.line.includes('"msg":"config applied"')) return;
    const version = (JSON.parse(e.line) as { version?: number }).version;
    if (version === undefined) return;
    const list = this.applied.get(e.name) ?? [];
    list.push(version);
    this.applied.set(e.name, list);
  }

  /** one sequential loop per node (answers never overtake each other) until stop() */
  private startSampling(): void {
    let stopped = false;
    this.stopSampling = () => {
      stopped = true;
    };
    for (const dp of this.platform.dps) {
      const list: number[] = [];
      this.sampled.set(dp.slot, list);
      void (async () => {
        while (!stopped) {
          const s = await fetch(`${dp.ops}/status`, { signal: AbortSignal.timeout(1000) })
            .then((r) => r.json() as Promise<{ version: number }>)
            .catch(() => undefined);
          if (s) list.push(s.version);
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
    }
  }
}

/** true when the list never goes down (strictly: never repeats either) */
export function increasing(list: readonly number[], strictly: boolean): boolean {
  return list.every((v, i) => i === 0 || (strictly ? v > list[i - 1]! : v >= list[i - 1]!));
}
