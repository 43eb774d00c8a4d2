/**
 * A slow leak must not hide under the soak verdict. Two real Node processes are sampled
 * the way a soak samples the platform (/proc, once per interval): one idle, one keeping
 * 32 KiB more every half second (~4 % of its RSS over the steady phase — under the old
 * "5 % first-versus-last" bar, so the old verdict passed it). Judged by its slope, the
 * leak is flagged and the idle process is flat.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { soakVerdict } from "../../loadtest/report/soak-verdict.ts";
import { ProcessSampler } from "../../loadtest/sampler/process-sampler.ts";
import { poll } from "../support/poll.ts";

const KEEP_ALIVE = "setInterval(() => {}, 1000);";
/** Keeps 32 KiB of touched memory every 500 ms (64 KiB/s). */
const LEAK = "const kept = []; setInterval(() => kept.push(Buffer.alloc(32 * 1024, 1)), 500);";

async function startNode(source: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["-e", `${source} process.stdout.write("up\\n");`], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await once(child.stdout!, "data");
  return child;
}

test("a slow leak is flagged by its RSS slope; an idle process is flat", { timeout: 180_000 }, async () => {
  const idle = await startNode(KEEP_ALIVE);
  const leak = await startNode(LEAK);
  const sampler = new ProcessSampler({ intervalMs: 250 });
  try {
    sampler.add({ name: "idle", pid: idle.pid! });
    sampler.add({ name: "leak", pid: leak.pid! });
    const startEpochMs = Date.now();
    sampler.start();
    // 5 s of warm-up, then ≥ 30 s of steady samples of each (waiting for the samples,
    // however slowly a loaded machine takes them)
    const steadyFrom = startEpochMs + 5000;
    const steady = (name: string) =>
      sampler.samples().filter((s) => s.name === name && s.atEpochMs >= steadyFrom);
    await poll(
      "30 s of steady samples of the leak, at least 100",
      () => {
        const leakSamples = steady("leak");
        return leakSamples.length >= 100 && leakSamples.at(-1)!.atEpochMs >= steadyFrom + 30_000;
      },
      150_000,
      200,
    );
    await sampler.stop();
    const samples = sampler.samples();
    const verdict = soakVerdict(samples, { startEpochMs, endEpochMs: Date.now(), warmupSec: 5 });
    const rss = (name: string) =>
      samples.filter((s) => s.name === name && s.atEpochMs >= steadyFrom).map((s) => s.rssBytes!);
    const grown = rss("leak").at(-1)! / rss("leak")[0]! - 1;
    assert.ok(grown < 0.1, `the leak stays small: ${(grown * 100).toFixed(1)} % over the steady phase`);
    assert.equal(verdict.memoryGrowth, true, JSON.stringify(verdict));
    // the verdict names memory growth; a Node process may also open a descriptor or two late
    // (its own lazily started handles), which the fd check may call growth too: not this test's claim
    assert.match(verdict.verdict, /^memory-(and-fd-)?growth$/, JSON.stringify(verdict));
    const byName = Object.fromEntries(verdict.memory.map((m) => [m.process, m]));
    assert.equal(byName.leak!.flagged, true);
    assert.equal(byName.idle!.flagged, false, JSON.stringify(byName.idle));
    // 64 KiB/s kept: the slope's interval holds it (RSS grows by whole pages, allocator slack)
    const perSec = byName.leak!.rss.slopePerHour / 3600;
    assert.ok(perSec > 32 * 1024 && perSec < 256 * 1024, `leak slope ${(perSec / 1024).toFixed(1)} KiB/s`);
  } finally {
    idle.kill("SIGKILL");
    leak.kill("SIGKILL");
  }
});
