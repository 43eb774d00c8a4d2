/**
 * One measured round: with the fleet settled on the newest version, one admin API call changes
 * a tenant; the control plane compiles, publishes and announces a new version; every simulated
 * node fetches, checks and Acks it. Measured per node from just before the admin call: when the
 * Announce arrived and when the Ack was sent; and when the version row was written.
 */
import pg from "pg";
import type { AdminClient } from "../../bin/admin/admin-client.ts";
import { readHeader } from "../../proto/snapshot-codec.ts";
import type { BlobStore } from "../../runtime/blob-store/blob-store.ts";
import { promValue } from "../sampler/proc-stats.ts";
import { seedTenantId } from "./seed-tenants.ts";
import { epochMs } from "./sim-node.ts";
import type { NodeMark, SimFleet } from "./sim-fleet.ts";
import { median, type Spread, spread } from "./stats.ts";

export interface RoundResult {
  round: number;
  version: number;
  /** admin call -> the version row's created_at (compile, encode, blob write; database clock) */
  publishedMs: number;
  /** admin call -> Announce received, over the nodes */
  announce: Spread;
  /** admin call -> Ack sent, over the nodes (max = the last Ack) */
  ack: Spread;
  /** every node's admin call -> Ack time */
  ackMs: number[];
  /** median time a node spent fetching and checking the blob */
  checkMsMedian: number;
  /** the control plane's own timing of the round's publishes (its histograms' mean) */
  cpCompileMs: number;
  cpPublishMs: number;
  /** the control plane's mean time per publish phase in the round (corral_publish_phase_seconds) */
  cpPhasesMs: Record<string, number>;
  /** every version published during the round, with why ("change", "fleet ...") */
  published: Array<{ version: number; source: string }>;
}

interface VersionRow {
  version: number;
  createdAt: string;
  source: string;
}

const HISTOGRAMS = ["corral_snapshot_compile_seconds", "corral_publish_duration_seconds"] as const;

interface CpTimings {
  /** sum and count of the compile and publish histograms */
  totals: number[];
  /** per publish phase: [sum, count] */
  phases: Map<string, [number, number]>;
}

const PHASE_LINE = /^corral_publish_phase_seconds_(sum|count)\{phase="([a-z]+)"\}\s+(\S+)/;

/** the control plane's compile, publish and publish-phase histograms */
async function cpTimings(cpUrl: string): Promise<CpTimings> {
  const text = await (await fetch(`${cpUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const phases = new Map<string, [number, number]>();
  for (const line of text.split("\n")) {
    const m = PHASE_LINE.exec(line);
    if (!m) continue;
    const entry = phases.get(m[2]!) ?? [0, 0];
    entry[m[1] === "sum" ? 0 : 1] = Number(m[3]);
    phases.set(m[2]!, entry);
  }
  const totals = HISTOGRAMS.flatMap((h) => [
    promValue(text, `${h}_sum`) ?? 0,
    promValue(text, `${h}_count`) ?? 0,
  ]);
  return { totals, phases };
}

/** mean ms of each publish phase between two readings */
function phaseMeansMs(before: CpTimings, after: CpTimings): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [phase, [sum, count]] of after.phases) {
    const [sum0, count0] = before.phases.get(phase) ?? [0, 0];
    if (count > count0) out[phase] = ((sum - sum0) / (count - count0)) * 1000;
  }
  return out;
}

/**
 * The timings once the round's publish is counted: a replica announces a version when its
 * row is written (NOTIFY), so nodes may Ack before the publisher has pointed LATEST at it and
 * observed its duration. Gives up after 5 s (the mean is then NaN).
 */
async function publishCounted(cpUrl: string, before: CpTimings): Promise<CpTimings> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const now = await cpTimings(cpUrl);
    if (now.totals[3]! > before.totals[3]! || Date.now() > deadline) return now;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** mean ms of each histogram between two readings */
function meanMs(before: CpTimings, after: CpTimings, i: number): number {
  const count = after.totals[2 * i + 1]! - before.totals[2 * i + 1]!;
  return count > 0 ? ((after.totals[2 * i]! - before.totals[2 * i]!) / count) * 1000 : Number.NaN;
}

async function newestVersion(admin: AdminClient): Promise<VersionRow | undefined> {
  return (await admin.get<{ items: VersionRow[] }>("/admin/v1/config/versions?limit=1")).items[0];
}

/** Polls `check` every `everyMs` until true; throws `what` after timeoutMs. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 5,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Every node on the newest published version, and no newer one for `quietMs`. */
export async function settle(
  fleet: SimFleet,
  admin: AdminClient,
  timeoutMs: number,
  quietMs = 1000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const newest = (await newestVersion(admin))?.version ?? 0;
    await waitFor(
      `every node acks version ${newest}`,
      () => fleet.lowestAcked() >= newest,
      Math.max(1, deadline - Date.now()),
      20,
    );
    await new Promise((r) => setTimeout(r, quietMs));
    if (((await newestVersion(admin))?.version ?? 0) === newest) return newest;
  }
}

/** How long a version compiled before the last node joined may wait for the one after it. */
const WHOLE_FLEET_WAIT_MS = 300_000;

/**
 * Settled (see settle) on a version whose compile began after the last node registered, so its
 * slot table holds every node's slot. While nodes join, each compile covers the slots
 * registered when it began, and the fleet watcher asks for the next; at 100,000 tenants a compile
 * after a slot-set change takes tens of seconds, so the fleet can look settled (every node on the
 * newest version, nothing new for a while) while the compile with the whole fleet still runs, and
 * a round must not start behind it. The compile's start is the blob header's createdAtMs.
 */
export async function settleWholeFleet(
  fleet: SimFleet,
  admin: AdminClient,
  deps: { pgUrl: string; blobs: BlobStore; capacity: number },
  timeoutMs: number,
  quietMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const client = new pg.Client({ connectionString: deps.pgUrl });
  await client.connect();
  try {
    for (;;) {
      const version = await settle(fleet, admin, Math.max(1, deadline - Date.now()), quietMs);
      const { rows } = await client.query<{ blob_key: string; joined: Date | null }>(
        "SELECT blob_key, (SELECT max(first_seen) FROM nodes) AS joined FROM config_versions WHERE version = $1",
        [version],
      );
      const blob = await deps.blobs.get(rows[0]!.blob_key, deps.capacity);
      if (readHeader(blob).createdAtMs > (rows[0]!.joined?.getTime() ?? 0)) return version;
      try {
        await waitFor(
          `a version compiled after the last node joined (newer than ${version})`,
          async () => ((await newestVersion(admin))?.version ?? 0) > version,
          Math.min(WHOLE_FLEET_WAIT_MS, Math.max(1, deadline - Date.now())),
          200,
        );
      } catch {
        return version; // it began just before the last join and read it anyway: nothing followed
      }
    }
  } finally {
    await client.end();
  }
}

function latencies(marks: Array<NodeMark | undefined>, t0: number): number[] {
  return marks.map((m) => m!.atMs - t0);
}

export interface RoundDeps {
  fleet: SimFleet;
  admin: AdminClient;
  cpUrl: string;
  /** the control plane's database: which version first carries the round's change */
  pgUrl: string;
}

/**
 * The first version whose content covers the change counter the admin call left: a publish
 * already running when the call came (at 100k tenants one takes seconds) is published after
 * the call but without its change, and must not count as the round's version.
 */
async function versionCarrying(pgUrl: string, since: number, timeoutMs: number): Promise<number> {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    const counter = Number(
      (await client.query("SELECT counter FROM config_changes WHERE name = 'config'")).rows[0].counter,
    );
    let version = 0;
    await waitFor(
      `a version covering change ${counter}`,
      async () => {
        const { rows } = await client.query(
          "SELECT min(version) AS v FROM config_versions WHERE change_counter >= $1 AND version > $2",
          [counter, since],
        );
        version = Number(rows[0].v ?? 0);
        return version > 0;
      },
      timeoutMs,
      20,
    );
    return version;
  } finally {
    await client.end();
  }
}

export async function runRound(deps: RoundDeps, round: number, timeoutMs: number): Promise<RoundResult> {
  const { fleet, admin } = deps;
  const before = await settle(fleet, admin, timeoutMs);
  const timingsBefore = await cpTimings(deps.cpUrl);
  const t0 = epochMs();
  await admin.patch(`/admin/v1/tenants/${seedTenantId(1)}`, { name: `Propagation round ${round}` });
  const version = await versionCarrying(deps.pgUrl, before, timeoutMs);
  await waitFor(
    `round ${round}: every node acks version ${version} or later`,
    () => fleet.firstAbove(fleet.acks, version - 1).every((m) => m !== undefined),
    timeoutMs,
  );
  if (fleet.failures.length > 0) throw new Error(fleet.failures.join("; "));
  const acks = fleet.firstAbove(fleet.acks, version - 1);
  const announces = fleet.firstAbove(fleet.announces, version - 1);
  const timingsAfter = await publishCounted(deps.cpUrl, timingsBefore);
  const rows = await admin.get<{ items: VersionRow[] }>("/admin/v1/config/versions?limit=20");
  const row = rows.items.find((r) => r.version === version);
  const ackMs = latencies(acks, t0);
  return {
    cpCompileMs: meanMs(timingsBefore, timingsAfter, 0),
    cpPublishMs: meanMs(timingsBefore, timingsAfter, 1),
    cpPhasesMs: phaseMeansMs(timingsBefore, timingsAfter),
    published: rows.items
      .filter((r) => r.version > before)
      .map((r) => ({ version: r.version, source: r.source }))
      .reverse(),
    round,
    version,
    publishedMs: row ? Date.parse(row.createdAt) - t0 : Number.NaN,
    announce: spread(latencies(announces, t0)),
    ack: spread(ackMs),
    ackMs,
    checkMsMedian: median(acks.map((m) => m!.checkMs ?? Number.NaN)),
  };
}
