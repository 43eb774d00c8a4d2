/**
 * Change rate and garbage (docs/design.md §8.6 "bounded history", §8.8 "per-tenant rate limits on CP
 * mutations"), black-box against a real control plane and data plane (child processes), a
 * real Postgres and a filesystem blob store:
 * - 1,000 create/delete cycles through the admin API leave at most the retention window's
 *   snapshot blobs (plus versions a node still serves), while far more versions were published;
 * - rollback works inside the window and answers 410 CORRAL_ADMIN_VERSION_GONE outside it;
 * - a tenant hammering its API gets 429 + Retry-After (gRPC: RESOURCE_EXHAUSTED + retry-after)
 *   and stores no more idempotency rows than it was allowed changes, while another tenant's
 *   changes still succeed.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import pg from "pg";
import { type Platform, startPlatform } from "../../bin/dev/platform.ts";
import { TenantServiceClient } from "../../proto/gen/corral/tenant/v1/tenant.ts";

import { startPostgres, type TestPostgres } from "../support/postgres.ts";
import { poll } from "../support/poll.ts";
import { createTenant } from "../support/tenants.ts";

const RETAIN = 10;
const CYCLES = 1000;
const BATCH = 25;
const PER_MINUTE = 6;
const BURST = 5;
const TARGET = { targets: ["http://churn.example.com:8080"] };

let dir: string;
let pgServer: TestPostgres;
let platform: Platform;
let db: pg.Pool;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "corral-churn-"));
  pgServer = await startPostgres();
  db = new pg.Pool({ connectionString: pgServer.url, max: 2 });
  db.on("error", () => {});
  platform = await startPlatform({
    dir,
    ports: "free",
    controlPlanes: 1,
    dataPlanes: 1,
    pg: { url: pgServer.url },
    demoUpstreams: false,
    extraEnv: { CORRAL_SNAPSHOT_CAPACITY: String(256 * 1024) },
    cpEnv: {
      CORRAL_SNAPSHOT_RETAIN: String(RETAIN),
      CORRAL_TENANT_MUTATIONS_PER_MINUTE: String(PER_MINUTE),
      CORRAL_TENANT_MUTATION_BURST: String(BURST),
    },
    stopGraceMs: 3000,
    readyTimeoutMs: 60_000,
  });
});

after(async () => {
  await platform?.stop();
  await db?.end();
  await pgServer?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function admin(method: string, path: string, body?: unknown) {
  const res = await fetch(`${platform.cp.url}/admin/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${platform.operatorToken}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

async function tenantRest(key: string, method: string, path: string, body: unknown, token: string) {
  const res = await fetch(`${platform.cp.url}/v1${path}`, {
    method,
    headers: { "x-api-key": key, "content-type": "application/json", "idempotency-key": token },
    body: JSON.stringify(body),
  });
  const problem = (await res.json().catch(() => undefined)) as { code?: string } | undefined;
  return { status: res.status, headers: res.headers, body: problem };
}

async function newestVersion(): Promise<number> {
  const { rows } = await db.query("SELECT coalesce(max(version), 0)::int AS v FROM config_versions");
  return rows[0].v;
}

async function snapshotBlobs(): Promise<number[]> {
  const names = await readdir(join(fileURLToPath(platform.blobUrl), "snapshots"));
  return names.filter((n) => n.endsWith(".snap")).map((n) => Number(n.slice(0, -5)));
}

async function makeTenant(id: string): Promise<string> {
  return (await createTenant(platform.admin(), { id, keys: { manager: ["invoke", "manage"] } })).key;
}

async function cycle(i: number): Promise<void> {
  const created = await admin("POST", "/tenants/churn/upstreams", { name: `u${i}`, ...TARGET });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const deleted = await admin("DELETE", `/tenants/churn/upstreams/${created.body.id}`);
  assert.equal(deleted.status, 204, JSON.stringify(deleted.body));
}

test("1,000 create/delete cycles leave at most the retention window of blobs", {
  timeout: 240_000,
}, async (t) => {
  assert.equal((await admin("POST", "/tenants", { id: "churn", name: "churn" })).status, 201);
  const first = await newestVersion();
  for (let done = 0; done < CYCLES; done += BATCH) {
    const before = await newestVersion();
    for (let i = done; i < done + BATCH; i += 2) await Promise.all([cycle(i), cycle(i + 1)]);
    // at least one version per batch, so the run publishes well over the window
    await poll("a version from this batch", async () => (await newestVersion()) > before, 30_000);
  }
  const last = await newestVersion();
  assert.ok(last - first >= CYCLES / BATCH, `published ${last - first} versions`);
  assert.ok(last - first > RETAIN, "more versions than the window were published");

  const bound = async () => {
    const { rows } = await db.query("SELECT DISTINCT applied_version AS v FROM nodes");
    const served = rows.map((r) => Number(r.v));
    const blobs = await snapshotBlobs();
    const newest = [...blobs].sort((a, b) => b - a).slice(0, RETAIN);
    const extra = blobs.filter((v) => !newest.includes(v));
    return blobs.length <= RETAIN + served.length && extra.every((v) => served.includes(v)) && blobs;
  };
  const blobs = await poll("snapshot blobs pruned to the retention bound", bound, 30_000);
  assert.ok(blobs.includes(last), "the newest version's blob is kept");
  t.diagnostic(`${CYCLES} cycles published ${last - first} versions; ${blobs.length} snapshot blobs remain`);
  const { rows } = await db.query(
    "SELECT count(*)::int AS n FROM config_versions WHERE blob_deleted_at IS NOT NULL",
  );
  assert.ok(rows[0].n >= last - first - RETAIN - 1, "the deletes are recorded");
});

test("rollback works inside the window and says clearly when a version is gone", async () => {
  const newest = await newestVersion();
  const inside = await admin("POST", `/config/versions/${newest - 2}/rollback`);
  assert.equal(inside.status, 202, JSON.stringify(inside.body));
  await poll(
    "the rollback version",
    async () => {
      const { rows } = await db.query("SELECT 1 FROM config_versions WHERE source = $1", [
        `rollback of ${newest - 2}`,
      ]);
      return rows.length > 0;
    },
    30_000,
  );

  const { rows } = await db.query(
    "SELECT max(version)::int AS v FROM config_versions WHERE blob_deleted_at IS NOT NULL",
  );
  const gone = await admin("POST", `/config/versions/${rows[0].v}/rollback`);
  assert.equal(gone.status, 410, JSON.stringify(gone.body));
  assert.equal(gone.body.code, "CORRAL_ADMIN_VERSION_GONE");
  assert.match(gone.body.detail, /outside the retained history/);
  assert.equal((await admin("POST", "/config/versions/999999999/rollback")).status, 404);
});

test("a tenant hammering changes gets 429 with Retry-After; another tenant's changes still pass", async () => {
  const noisy = await makeTenant("noisy");
  const quiet = await makeTenant("quiet");
  const started = Date.now();
  let ok = 0;
  let refused: Awaited<ReturnType<typeof tenantRest>> | undefined;
  for (let i = 0; i < 200 && !refused; i++) {
    const res = await tenantRest(noisy, "POST", "/upstreams", { name: `n${i}`, ...TARGET }, `noisy-${i}`);
    if (res.status === 201) ok++;
    else refused = res;
  }
  const allowed = BURST + Math.ceil(((Date.now() - started) / 60_000) * PER_MINUTE) + 1;
  assert.ok(refused, "the tenant was never refused");
  assert.equal(refused.status, 429, JSON.stringify(refused.body));
  assert.equal(refused.body?.code, "CORRAL_TENANT_RATE_LIMITED");
  const retryAfter = Number(refused.headers.get("retry-after"));
  assert.ok(
    Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60 / PER_MINUTE,
    `${retryAfter}`,
  );
  assert.ok(ok >= BURST && ok <= allowed, `${ok} changes passed`);

  const grpc = new TenantServiceClient(platform.cp.grpc, credentials.createInsecure());
  try {
    const md = new Metadata();
    md.set("x-api-key", noisy);
    const err = await new Promise<ServiceError>((resolve, reject) =>
      grpc.createUpstream(
        {
          name: "g",
          ...TARGET,
          clientToken: "noisy-grpc",
          weights: [],
          healthCheck: undefined,
          outlier: undefined,
          retryBudget: undefined,
        },
        md,
        (e) => (e ? resolve(e) : reject(new Error("the gRPC change passed"))),
      ),
    );
    assert.equal(err.code, status.RESOURCE_EXHAUSTED);
    assert.deepEqual(err.metadata.get("corral-code"), ["CORRAL_TENANT_RATE_LIMITED"]);
    assert.ok(Number(err.metadata.get("retry-after")[0]) >= 1);
  } finally {
    grpc.close();
  }

  const other = await tenantRest(quiet, "POST", "/upstreams", { name: "q", ...TARGET }, "quiet-1");
  assert.equal(other.status, 201, JSON.stringify(other.body));
  const { rows } = await db.query("SELECT count(*)::int AS n FROM idempotency_keys WHERE scope = $1", [
    "tenant:noisy",
  ]);
  assert.equal(rows[0].n, ok, "refused changes store no idempotency rows");
});
