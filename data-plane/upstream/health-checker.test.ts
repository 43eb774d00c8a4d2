import assert from "node:assert/strict";
import { test } from "node:test";
import { egressPolicy } from "../../proto/egress-policy.ts";
import { DEFAULT_HEALTH_CHECK } from "../../proto/upstream-policy.ts";
import { plainUpstream } from "../../test/data-plane/fixtures.ts";
import { ManualTimers } from "../clock.ts";
import { DownList } from "./down-list.ts";
import { type HealthProbe, HealthChecker } from "./health-checker.ts";
import { type CheckState, freshCheck, recordCheck } from "./health-checks.ts";

const hc = {
  ...DEFAULT_HEALTH_CHECK,
  intervalMs: 1_000,
  timeoutMs: 500,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
};

test("thresholds: three failures in a row take a target out, two passes in a row bring it back", () => {
  const s: CheckState = freshCheck(0, hc, () => 0);
  const verdicts = [false, false, true, false, false, false, true, false, true, true].map((ok) =>
    recordCheck(s, ok, hc),
  );
  assert.deepEqual(verdicts, [
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    "down",
    undefined,
    undefined,
    undefined,
    "up",
  ]);
});

/** Probes whose answers the test sets per origin; each call settles on the next microtask. */
function scriptedProbes() {
  const healthy = new Map<string, boolean>();
  const calls: string[] = [];
  const probe: HealthProbe = async ({ target }) => {
    calls.push(target.origin);
    return healthy.get(target.origin) ?? true;
  };
  return { healthy, calls, probes: { http: probe, grpc: probe } };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

test("the checker runs due checks each tick, feeds verdicts to the down list, forgets what is no longer checked", async () => {
  const timers = new ManualTimers();
  const down = new DownList(() => timers.monotonic());
  const scripted = scriptedProbes();
  let checked = [
    { upstream: plainUpstream(["http://a:1", "http://b:1"], { healthCheck: hc }), egress: egressPolicy() },
  ];
  const results: boolean[] = [];
  const checker = new HealthChecker({
    timers,
    random: () => 0.5,
    down,
    upstreams: () => checked,
    probes: scripted.probes,
    onResult: (_p, ok) => results.push(ok),
    tickMs: 100,
  });
  const [a, b] = checked[0]!.upstream.targets;
  scripted.healthy.set("http://a:1", false);
  for (let i = 0; i < 40; i++) {
    timers.advance(100);
    await settle();
  }
  // 4 s at a 1 s interval (first check half an interval in): about four checks per target
  assert.ok(scripted.calls.length >= 6 && scripted.calls.length <= 10, `${scripted.calls.length} checks`);
  assert.equal(down.down(a!.key), true, "three failed checks in a row");
  assert.equal(down.down(b!.key), false);
  scripted.healthy.set("http://a:1", true);
  for (let i = 0; i < 25 && down.down(a!.key); i++) {
    timers.advance(100);
    await settle();
  }
  assert.equal(down.down(a!.key), false, "back after two passes");
  scripted.healthy.set("http://a:1", false);
  for (let i = 0; i < 40; i++) {
    timers.advance(100);
    await settle();
  }
  assert.equal(down.down(a!.key), true);
  checked = [];
  timers.advance(100);
  await settle();
  assert.equal(checker.size, 0);
  assert.equal(down.down(a!.key), false, "no longer checked: back in rotation, passive ejection alone");
  assert.ok(results.includes(true) && results.includes(false));
  checker.stop();
});

test("at most maxInFlight checks at once; the rest wait for a later tick", async () => {
  const timers = new ManualTimers();
  const origins = Array.from({ length: 10 }, (_, i) => `http://t${i}:1`);
  let inFlight = 0;
  let most = 0;
  const release: Array<() => void> = [];
  const probe: HealthProbe = () =>
    new Promise((resolve) => {
      inFlight++;
      most = Math.max(most, inFlight);
      release.push(() => {
        inFlight--;
        resolve(true);
      });
    });
  const checker = new HealthChecker({
    timers,
    random: () => 0,
    down: new DownList(() => timers.monotonic()),
    upstreams: () => [{ upstream: plainUpstream(origins, { healthCheck: hc }), egress: egressPolicy() }],
    probes: { http: probe, grpc: probe },
    tickMs: 100,
    maxInFlight: 3,
  });
  timers.advance(100);
  assert.equal(inFlight, 3);
  for (const r of release.splice(0)) r();
  await settle();
  timers.advance(100);
  assert.equal(most, 3);
  assert.equal(inFlight, 3, "the next three");
  checker.stop();
});
