/**
 * Support for the static-stability, bad-blob and blob-outage chaos tests: a real Postgres
 * and the platform (bin/dev/platform.ts) on free ports, a few tenants each routed to the
 * demo HTTP upstream with an invoke key, and what the tests observe: a node's /status and
 * /metrics, the control plane's fleet and version views, and a probe that keeps sending
 * requests to every tenant on every node and records each one that fails.
 */
import { type CreatedTenant, createTenant, type TenantSpec } from "../support/tenants.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Platform, type PlatformOptions, startPlatform } from "../../bin/dev/platform.ts";
import type { NodeStatusView } from "../../data-plane/node-state.ts";
import { startPostgres, type TestPostgres } from "../support/postgres.ts";

export const PATH = "/hello";

/** A tenant of the chaos tests: its id and invoke key. */
export type TenantKey = Pick<CreatedTenant, "id" | "key">;

export interface FleetNode {
  slot: string;
  appliedVersion: number;
  lastError: string | null;
  status: Record<string, unknown> | null;
  connected: boolean;
}

export interface VersionView {
  version: number;
  acks: number;
  nacks: number;
  createdAt: string;
}

export interface ChaosPlatform {
  platform: Platform;
  postgres: TestPostgres;
  tenants: TenantKey[];
  stop(): Promise<void>;
}

export type ChaosOptions = Omit<PlatformOptions, "dir" | "ports" | "pg"> & { tenants?: number };

/** Postgres, the platform and `tenants` tenants (default 2), every node serving every tenant. */
export async function startChaosPlatform(opts: ChaosOptions): Promise<ChaosPlatform> {
  const dir = await mkdtemp(join(tmpdir(), "corral-stability-"));
  const postgres = await startPostgres();
  let platform: Platform | undefined;
  const stop = async () => {
    await platform?.stop();
    await postgres.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    platform = await startPlatform({
      stopGraceMs: 3000,
      ...opts,
      dir,
      ports: "free",
      pg: { url: postgres.url },
    });
    const upstream = platform.upstreams?.http;
    if (!upstream) throw new Error("the chaos tests need the demo upstreams");
    const tenants: TenantKey[] = [];
    for (let i = 0; i < (opts.tenants ?? 2); i++) {
      tenants.push(await createTenant(platform.admin(), chaosTenant(`stable-${i}`, upstream)));
    }
    for (const t of tenants) await platform.waitUntilServing(PATH, t.key, 30_000);
    return { platform, postgres, tenants, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A tenant with an upstream (the demo HTTP upstream), a route for PATH and an invoke key. */
export function chaosTenant(id: string, upstream: string): TenantSpec {
  return {
    id,
    name: `Tenant ${id}`,
    upstream,
    upstreamName: "demo",
    routes: [{ pathPrefix: PATH }],
    keys: { probe: ["invoke"] },
  };
}

async function getJson<T>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export function nodeStatus(dp: { ops: string }): Promise<NodeStatusView> {
  return getJson<NodeStatusView>(`${dp.ops}/status`);
}

export async function fleet(platform: Platform): Promise<FleetNode[]> {
  return (await platform.admin().get<{ items: FleetNode[] }>("/admin/v1/fleet")).items;
}

export async function configVersions(platform: Platform): Promise<VersionView[]> {
  return (await platform.admin().get<{ items: VersionView[] }>("/admin/v1/config/versions")).items;
}

/** The HTTP status of GET PATH on a node with a tenant's key, or the transport error's code. */
export async function request(dp: { url: string }, key: string): Promise<string> {
  try {
    const res = await fetch(`${dp.url}${PATH}`, {
      headers: { "x-api-key": key },
      signal: AbortSignal.timeout(5000),
    });
    await res.arrayBuffer();
    const reason = res.headers.get("corral-reason");
    return res.status === 200 ? "200" : `${res.status}${reason ? ` ${reason}` : ""}`;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    return cause?.code ?? (err as Error).name;
  }
}

export interface ProbeFailure {
  slot: string;
  tenant: string;
  answer: string;
  atMs: number;
}

/**
 * Sends GET PATH for every tenant to every node, one request at a time per node, every
 * `intervalMs`, until stop(); stop() resolves with the count sent and every failure.
 */
export function startProbe(
  dps: readonly { slot: string; url: string }[],
  tenants: readonly TenantKey[],
  intervalMs = 50,
): { stop(): Promise<{ sent: number; failures: ProbeFailure[] }> } {
  let running = true;
  let sent = 0;
  const failures: ProbeFailure[] = [];
  const loops = dps.map(async (dp) => {
    for (let i = 0; running; i++) {
      const t = tenants[i % tenants.length]!;
      const answer = await request(dp, t.key);
      sent++;
      if (answer !== "200") failures.push({ slot: dp.slot, tenant: t.id, answer, atMs: Date.now() });
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return { sent, failures };
    },
  };
}
