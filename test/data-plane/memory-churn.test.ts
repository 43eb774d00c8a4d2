/**
 * Memory that stays flat on a node whose config keeps changing: 200 applies with churning
 * tenants (half of them new every other version) through the real apply path, each version
 * served a little, in a child process with --expose-gc (apply-churn.ts). The heap after
 * forced GCs must not grow by more than a wide margin between the end of the warm-up and the
 * end, and the per-tenant and per-route maps must follow the tenants in use.
 * Before the latency windows and demand entries were pruned, this grew the heap by ~7 MiB
 * (10,000 latency windows, 7,220 demand entries for 40 tenants in use).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const CHILD = fileURLToPath(new URL("./apply-churn.ts", import.meta.url));
const MiB = 2 ** 20;

type ChurnResult = {
  before: number;
  after: number;
  applied: number;
  decoded: number;
  sizes: { tenantBuckets: number; routeBuckets: number; latencyWindows: number; demand: number };
};

function runChurn(args: string[]): Promise<ChurnResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--expose-gc", CHILD, ...args],
      { timeout: 180_000, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`${err.message}\n${stderr}`));
        resolve(JSON.parse(stdout.trim().split("\n").at(-1)!) as ChurnResult);
      },
    );
  });
}

test("200 config applies with churning tenants leave the heap and the per-tenant maps bounded", async () => {
  const tenantsPerVersion = 40;
  const r = await runChurn(["40", "200", String(tenantsPerVersion)]);
  assert.equal(r.applied, 240);
  assert.ok(r.decoded <= tenantsPerVersion, `decoded tenants of the served config: ${r.decoded}`);
  // windows and entries of the routes and tenants seen within a minute or two (10 s per version)
  const routesInUse = 2 * tenantsPerVersion;
  assert.ok(r.sizes.latencyWindows <= 15 * routesInUse, `latency windows: ${r.sizes.latencyWindows}`);
  assert.ok(r.sizes.demand <= 2 * tenantsPerVersion, `demand entries: ${r.sizes.demand}`);
  assert.ok(r.sizes.tenantBuckets <= 2 * tenantsPerVersion, `tenant buckets: ${r.sizes.tenantBuckets}`);
  assert.ok(r.sizes.routeBuckets <= 2 * routesInUse, `route buckets: ${r.sizes.routeBuckets}`);
  const grown = r.after - r.before;
  assert.ok(grown < 3 * MiB, `heap after GC grew ${(grown / MiB).toFixed(2)} MiB over 200 applies`);
});
