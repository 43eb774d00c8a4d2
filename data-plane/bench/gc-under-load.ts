/**
 * What the data plane's garbage collector costs the request path under constant load, for a
 * given set of V8 flags: a real `corral data-plane` process (file blob store, one tenant, the
 * default 8 MiB snapshot pulled every 10 s, no control plane needed) in front of the
 * fixed-latency upstream, driven open-loop at a fixed rate; then its own GC counters (count
 * and total pause per kind), its event-loop lag, and the client's p99/max.
 *
 *   node data-plane/bench/gc-under-load.ts [rps=1000] [seconds=30] [-- v8 flags for the node...]
 *
 * Run it once per candidate flag set, alternating, and compare (data-plane/README.md, "V8
 * settings").
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { nodeScript, startChild } from "../../loadtest/process/child-process.ts";
import { runLoad } from "../../loadtest/generator/run-load.ts";
import { freePort, waitUntil } from "../../loadtest/net/free-port.ts";
import { parsePromText, sumByLabel } from "../../loadtest/platform/prom-text.ts";
import { deriveNodeCredential } from "../../proto/node-credential.ts";
import { FsBlobStore } from "../../runtime/blob-store/fs-blob-store.ts";
import { DEFAULT_CAPACITY } from "../../proto/snapshot-codec.ts";
import * as fx from "../../test/data-plane/fixtures.ts";

const dashes = process.argv.indexOf("--");
const args = dashes < 0 ? process.argv.slice(2) : process.argv.slice(2, dashes);
const flags = dashes < 0 ? [] : process.argv.slice(dashes + 1);
const rps = Number(args[0] ?? 1000);
const seconds = Number(args[1] ?? 30);
const BIN = fileURLToPath(new URL("../../bin/corral.ts", import.meta.url));
const UPSTREAM = new URL("../../loadtest/bench/fixed-latency-server.ts", import.meta.url);

async function gcStats(opsUrl: string) {
  const samples = parsePromText(await (await fetch(`${opsUrl}/metrics`)).text());
  const value = (name: string) => samples.find((s) => s.name === name)?.value ?? 0;
  return {
    count: sumByLabel(samples, "corral_dp_nodejs_gc_duration_seconds_count", "kind"),
    seconds: sumByLabel(samples, "corral_dp_nodejs_gc_duration_seconds_sum", "kind"),
    lagMaxMs: value("corral_dp_nodejs_eventloop_lag_max_seconds") * 1000,
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "corral-gc-bench-"));
  const upstream = await startChild<{ url: string }>(nodeScript(UPSTREAM, ["--delay-ms=0"]));
  const pair = fx.signingPair();
  const key = fx.newKey();
  const store = new FsBlobStore(join(dir, "blobs"));
  const tenant = fx.tenant({
    id: "bench",
    upstream: upstream.ready.url,
    keys: [{ id: key.id, hash: key.hash }],
  });
  await fx.publish(store, fx.sign(fx.snapshot(1, [tenant]), pair, DEFAULT_CAPACITY));
  const [http, ops] = [await freePort(), await freePort()];
  const node = await startChild<string>({
    command: process.execPath,
    args: [...flags, BIN, "data-plane"],
    ready: (line) => line,
    env: {
      ...process.env,
      CORRAL_CP_URL: `http://127.0.0.1:${await freePort()}`,
      // no control plane here: any fleet secret derives a credential the node accepts for its slot
      CORRAL_NODE_TOKEN: deriveNodeCredential(randomBytes(32).toString("hex"), "dp-gc"),
      CORRAL_VERIFY_KEY: pair.verifyKeyText,
      CORRAL_BLOB_URL: pathToFileURL(join(dir, "blobs")).href,
      CORRAL_SLOT: "dp-gc",
      CORRAL_HOST: "127.0.0.1",
      CORRAL_HTTP_PORT: String(http),
      CORRAL_GRPC_PORT: String(await freePort()),
      CORRAL_OPS_PORT: String(ops),
      CORRAL_DATA_DIR: join(dir, "data"),
      CORRAL_LOG_LEVEL: "info", // its first line, "listening", is the ready signal
    },
    timeoutMs: 30_000,
  });
  const opsUrl = `http://127.0.0.1:${ops}`;
  try {
    const target = {
      kind: "http" as const,
      url: `http://127.0.0.1:${http}/bench`,
      headers: { "x-api-key": key.key },
    };
    const serving = await waitUntil(
      async () => (await fetch(target.url, { headers: target.headers })).ok,
      30_000,
    );
    if (!serving) throw new Error("the node does not serve");
    await runLoad({ tenants: [{ tenant: "warmup", rate: rps, target }], durationSec: 5 });
    const before = await gcStats(opsUrl);
    const load = await runLoad({ tenants: [{ tenant: "bench", rate: rps, target }], durationSec: seconds });
    const after = await gcStats(opsUrl);
    const delta = (m: "count" | "seconds", kind: string) =>
      (after[m].get(kind) ?? 0) - (before[m].get(kind) ?? 0);
    const lat = load.totals.latency;
    console.log(
      JSON.stringify({
        flags: flags.join(" ") || "(defaults)",
        rps,
        seconds,
        scavenges: delta("count", "minor"),
        scavengeMs: Math.round(delta("seconds", "minor") * 1000),
        majorGcs: delta("count", "major"),
        majorMs: Math.round(delta("seconds", "major") * 1000),
        incrementalMs: Math.round(delta("seconds", "incremental") * 1000),
        lagMaxMs: Math.round(after.lagMaxMs),
        p50Ms: lat.p50Ms,
        p99Ms: lat.p99Ms,
        p999Ms: lat.p999Ms,
        maxMs: lat.maxMs,
        errors: load.totals.errors,
      }),
    );
  } finally {
    await node.stop();
    await upstream.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
