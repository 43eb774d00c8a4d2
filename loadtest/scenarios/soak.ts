import { parseDurationSec } from "../platform/duration.ts";
import { NO_FAILED_REQUEST, openFleet } from "../platform/platform-scenario.ts";
import { errorKinds, errorSeconds, errorSecondsTable } from "../report/error-kinds.ts";
import { defineScenario } from "../scenario/types.ts";

/**
 * Hours at a steady rate through the whole platform, with a small config change every
 * `changeEverySec` so the publish and apply paths keep working too. The verdict: does any
 * process (control plane, data planes, Postgres, upstream) grow in RSS — its slope after the
 * warm-up, fitted through block means, 95 % interval above 0 and reaching 1 %/h of its mean,
 * over the whole steady phase and over each half (report/soak-verdict.ts) — or in open fds? The generator's own slope is shown, not judged (it keeps what it records).
 * `--duration` takes 90s, 35m, 2h, 1h30m; `--warmup=auto` is 10 % of it, at least 20 s and
 * at most 10 min. Failed requests are named: their kinds (the node's corral-reason, the status,
 * or the client's error code) and, per second with errors, how long after a config change.
 */
function warmupSec(duration: number, warmup: string): number {
  if (warmup !== "auto") return parseDurationSec(warmup);
  return Math.min(600, Math.max(20, duration / 10));
}

export default defineScenario({
  name: "soak",
  description: "Hours at a steady rate (--duration=2h): memory and fd growth verdict for every process",
  params: {
    duration: "2h",
    warmup: "auto",
    dataPlanes: 3,
    tenants: 30,
    shardSize: 2,
    rate: 200,
    zipf: 1,
    changeEverySec: 60,
    upstreamDelayMs: 1,
    workers: 0,
  },
  // biome-ignore format: one threshold a line
  thresholds: [
    NO_FAILED_REQUEST,
    { metric: "main.p99_ms", description: "p99 latency over the whole soak, ms", max: 100 },
    { metric: "soak.memory_growth", description: "a process's RSS slope after warm-up (block means): 95 % interval above 0 and reaching 1 %/h, in the whole steady phase and in each half", max: 0 },
    { metric: "soak.fd_growth", description: "a process grew its open fds over the steady phase", max: 0 },
    { metric: "soak.judged_processes", description: "processes with enough samples to judge", min: (p) => p.dataPlanes + 2 },
    { metric: "config.nodes_behind", description: "nodes not on the newest config version at the end", max: 0 },
  ],
  async run(ctx) {
    const runStart = Date.now();
    const p = ctx.params;
    const durationSec = parseDurationSec(p.duration);
    const session = await openFleet(ctx);
    const setupSec = (Date.now() - runStart) / 1000;
    ctx.judgeSoak({ warmupSec: setupSec + warmupSec(durationSec, p.warmup) });
    const changes = { made: 0, failed: 0, atEpochMs: [] as number[] };
    const timer =
      p.changeEverySec > 0
        ? setInterval(() => {
            const tenant = session.tenants[changes.made % session.tenants.length]!;
            changes.made++;
            changes.atEpochMs.push(Date.now());
            session.rig.admin
              .patch(`/admin/v1/tenants/${tenant.id}`, { name: `soak change ${changes.made}` })
              .catch((err: Error) => {
                changes.failed++;
                ctx.log(`config change failed: ${err.message}`);
              });
          }, p.changeEverySec * 1000)
        : undefined;
    ctx.onCleanup(() => clearInterval(timer));
    ctx.log(`steady ${p.rate} rps for ${durationSec} s (judged after ${warmupSec(durationSec, p.warmup)} s)`);
    const main = await ctx.runLoad("main", {
      tenants: session.loads(p.rate, p.zipf),
      durationSec,
      timeoutMs: 5000,
      workers: p.workers,
    });
    clearInterval(timer);
    const failed = errorSeconds(main.series, main.startEpochMs, changes.atEpochMs);
    if (failed.length > 0) {
      ctx.log(`errors: ${errorKinds(main.totals.outcomes)}`);
      for (const e of failed.slice(0, 20))
        ctx.log(
          `  second ${e.second}: ${e.kinds} (${e.sinceChangeMs ?? "no"} ms after the last config change)`,
        );
      ctx.addTable(errorSecondsTable("main", failed));
    }
    return {
      metrics: {
        ...(await session.finish()),
        "soak.config_changes": changes.made,
        "soak.config_change_failures": changes.failed,
      },
    };
  },
});
