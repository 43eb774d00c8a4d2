/**
 * Poison containment end to end (issue 4, docs/design.md §4): 6 data planes, 24 tenants with k = 2.
 * One tenant's route answers with a header that makes a node crash (the nodes run with the
 * test-only fault hook CORRAL_FAULT_CRASH_ON_HEADER; the crash is a real uncaught exception).
 *
 * The poison is sent to both members of that tenant's shard; both die. The control plane's
 * blast-radius analysis for those two slots names the tenants that lose their whole shard, and
 * exactly those fail (503 shard_unavailable) on every surviving node; every other tenant keeps
 * being served by every surviving node, directly or forwarded around the dead members. A third
 * poison request sent to a surviving non-member is not passed on (its shard is down), so the
 * poison cannot walk through the fleet.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { DataPlaneHandle } from "../../bin/dev/platform.ts";
import {
  call,
  type IsolationPlatform,
  isolationPlatform,
  type Member,
  shardOf,
  type TestUpstream,
  testUpstream,
} from "./support.ts";
import { createTenant } from "../support/tenants.ts";
import { poll } from "../support/poll.ts";

const POISON_HEADER = "x-corral-test-poison";
const TENANTS = Array.from({ length: 24 }, (_, i) => `t${String(i).padStart(2, "0")}`);

interface Analysis {
  failure: { failedSlots: string[]; tenantsLosingWholeShard: string[] };
}

describe("a poison tenant takes down only the tenants whose whole shard it shares", {
  timeout: 90_000,
}, () => {
  let env: IsolationPlatform;
  let upstream: TestUpstream;
  const keys = new Map<string, string>();
  const shards = new Map<string, string[]>();
  let poison: string;
  let doomed: string[];
  let dead: DataPlaneHandle[];
  let survivors: DataPlaneHandle[];

  before(async () => {
    upstream = await testUpstream((req, res) => {
      if (!req.url?.startsWith("/poison")) return false;
      res.writeHead(200, { [POISON_HEADER]: "1" }).end("poison");
      return true;
    });
    env = await isolationPlatform({ dataPlanes: 6, dpEnv: { CORRAL_FAULT_CRASH_ON_HEADER: POISON_HEADER } });
    for (const id of TENANTS) {
      keys.set(
        id,
        (await createTenant(env.admin, { id, upstream: upstream.url, limits: { shardSize: 2 } })).key,
      );
    }
    for (const id of TENANTS) {
      const placement = await env.admin.get<{ shard: { slot: string }[] }>(
        `/admin/v1/tenants/${id}/placement`,
      );
      shards.set(id, placement.shard.map((m) => m.slot).sort());
    }
    // the poison tenant: one from the pair of slots the most tenants share (24 tenants, 12 pairs)
    const byPair = Map.groupBy(TENANTS, (id) => shards.get(id)!.join(","));
    const crowded = [...byPair.values()].sort((a, b) => b.length - a.length)[0]!;
    poison = crowded[0]!;
    const pair = shards.get(poison)!;
    const analysis = await env.admin.get<Analysis>(`/admin/v1/placement/analysis?failed=${pair.join(",")}`);
    doomed = analysis.failure.tenantsLosingWholeShard.filter((t) => TENANTS.includes(t)).sort();
    dead = env.platform.dps.filter((dp) => pair.includes(dp.slot));
    survivors = env.platform.dps.filter((dp) => !pair.includes(dp.slot));
    await poll("every node serving every tenant", async () => {
      for (const dp of env.platform.dps)
        for (const id of TENANTS)
          if ((await call(`${dp.url}/ok`, keys.get(id)!)).status !== 200) return false;
      return true;
    });
  });

  after(async () => {
    await env?.stop();
    await upstream?.close();
  });

  it("the analysis predicts the tenants sharing the poison tenant's whole shard", () => {
    const pair = shards.get(poison)!;
    const sharing = TENANTS.filter((id) => shards.get(id)!.every((s) => pair.includes(s)));
    assert.deepEqual(doomed, sharing);
    assert.ok(doomed.length >= 2, `the poison tenant and at least one other: ${doomed}`);
    assert.equal(dead.length, 2);
  });

  it("poison crashes each member it reaches, never a node it is forwarded through", async () => {
    for (const dp of dead) {
      await call(`${dp.url}/poison`, keys.get(poison)!).catch(() => undefined);
      const exit = await dp.waitExit();
      assert.equal(exit.code, 1, `${dp.slot} died of the uncaught exception`);
    }
    const nonMember = survivors[0]!;
    const answer = await call(`${nonMember.url}/poison`, keys.get(poison)!);
    assert.equal(answer.status, 503);
    assert.equal(answer.reason, "shard_unavailable");
    assert.ok(survivors.every((dp) => dp.running));
  });

  it("exactly the tenants that lost their whole shard fail, on every surviving node", async () => {
    const deadSlots = dead.map((dp) => dp.slot);
    await poll("the survivors to see the dead slots as not live", async () => {
      for (const dp of survivors) {
        const shard: Member[] = await shardOf(dp.url, poison, keys.get(poison)!);
        if (shard.some((m) => deadSlots.includes(m.slot) && m.live)) return false;
      }
      return true;
    });
    const failing = new Set<string>();
    const wrong: string[] = [];
    for (const id of TENANTS) {
      for (const dp of survivors) {
        for (let i = 0; i < 3; i++) {
          const answer = await call(`${dp.url}/ok`, keys.get(id)!);
          const expected = doomed.includes(id) ? "503 shard_unavailable" : "200 ";
          const got = `${answer.status} ${answer.reason}`;
          if (answer.status !== 200) failing.add(id);
          if (got !== expected) wrong.push(`${id} via ${dp.slot}: ${got}, expected ${expected}`);
        }
      }
    }
    assert.deepEqual(wrong, []);
    assert.deepEqual([...failing].sort(), doomed);
    assert.ok(survivors.every((dp) => dp.running));
  });
});
