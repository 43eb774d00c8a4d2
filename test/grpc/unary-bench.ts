/**
 * gRPC unary Echo through a data-plane node vs a bare node:http2 passthrough
 * (loadtest/bench/h2-passthrough.ts) vs straight to the upstream, same run, alternating rounds:
 * closed loops of N concurrent calls (grpc-js client in this process), the demo Echo upstream,
 * the passthrough and the node each in their own process. Prints calls/s, p50/p99, the CPU each
 * proxy used and its CPU per call (the steadier figure on a shared machine).
 *
 *   node test/grpc/unary-bench.ts [--concurrency=32] [--seconds=3] [--rounds=3] [--channels=1] [--deadline-ms=5000] [--profile=DIR]
 *
 * --profile=DIR runs the node and the passthrough with --cpu-prof and writes their CPU profiles
 * there when they exit.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Client, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { nodeScript, startChild } from "../../loadtest/process/child-process.ts";
import { cpuSeconds } from "../../loadtest/sampler/cpu.ts";
import { EchoRequest, EchoResponse } from "../../proto/gen/corral/demo/v1/echo.ts";
import * as fx from "../data-plane/fixtures.ts";
import { grpcTenant } from "./grpc-node.ts";
import { startNodeProcess } from "./node-process.ts";

const { values: opts } = parseArgs({
  options: {
    concurrency: { type: "string", default: "32" },
    seconds: { type: "string", default: "3" },
    rounds: { type: "string", default: "3" },
    channels: { type: "string", default: "1" },
    // as the harness's senders: every call carries a deadline (grpc-timeout); 0: none
    "deadline-ms": { type: "string", default: "5000" },
    profile: { type: "string" },
  },
});
const CONCURRENCY = Number(opts.concurrency);
const SECONDS = Number(opts.seconds);
const ROUNDS = Number(opts.rounds);
const CHANNELS = Number(opts.channels);
const DEADLINE_MS = Number(opts["deadline-ms"]);

interface RoundResult {
  calls: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
}

const serialize = (v: EchoRequest) => Buffer.from(EchoRequest.encode(v).finish());
const deserialize = (b: Buffer) => EchoResponse.decode(b);

async function closedLoop(address: string, md: Metadata, seconds: number): Promise<RoundResult> {
  const clients = Array.from({ length: CHANNELS }, () => new Client(address, credentials.createInsecure()));
  const latencies: number[] = [];
  let errors = 0;
  const call = (client: Client) =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      client.makeUnaryRequest(
        "/corral.demo.v1.Echo/Echo",
        serialize,
        deserialize,
        { message: "ping" },
        md,
        DEADLINE_MS > 0 ? { deadline: Date.now() + DEADLINE_MS } : {},
        (err: ServiceError | null) => {
          if (err) errors++;
          else latencies.push(performance.now() - started);
          resolve();
        },
      );
    });
  // warm-up: connections and JIT
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => call(clients[i % CHANNELS]!)));
  latencies.length = 0;
  errors = 0;
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, i) => {
      while (performance.now() < until) await call(clients[i % CHANNELS]!);
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  for (const c of clients) c.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { calls: latencies.length, errors, rps: latencies.length / elapsed, p50: q(0.5), p99: q(0.99) };
}

/** A data-plane node in its own process, serving one tenant with a gRPC route to upstream. */
async function startNode(upstream: string, dir: string) {
  const key = fx.newKey();
  const node = await startNodeProcess({
    dir,
    tenants: [grpcTenant({ id: "bench", upstream, keys: [{ id: key.id, hash: key.hash }] })],
    nodeArgs: opts.profile ? ["--cpu-prof", `--cpu-prof-dir=${opts.profile}`] : [],
    // as the bench contender (loadtest/bench/data-plane-contender.ts): 1 % of successes logged
    env: { CORRAL_LOG_SAMPLE_RATE: "0.01" },
  });
  return { ...node, key: key.key };
}

/** The bare passthrough in its own process, in front of the same upstream. */
function startPassthrough(upstream: string) {
  const spec = nodeScript(new URL("../../loadtest/bench/h2-passthrough.ts", import.meta.url), [
    `--upstream=${upstream}`,
  ]);
  if (opts.profile) spec.args.unshift("--cpu-prof", `--cpu-prof-dir=${opts.profile}`);
  return startChild<{ address: string }>(spec);
}

/** A closed loop through a proxy process, with the CPU the process used per second and per call. */
async function throughProxy(address: string, md: Metadata, pid: number) {
  const cpuBefore = await cpuSeconds([pid]);
  const r = await closedLoop(address, md, SECONDS);
  const cpu = (await cpuSeconds([pid])) - cpuBefore;
  return { ...r, cores: cpu / SECONDS, usPerCall: (1e6 * cpu) / Math.max(1, r.calls) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (r: RoundResult) =>
  `${Math.round(r.rps).toString().padStart(6)} calls/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  errors ${r.errors}`;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "corral-grpc-bench-"));
  const upstream = await startChild<{ grpc: string }>(
    nodeScript(new URL("../../bin/dev/demo-upstreams.ts", import.meta.url), [
      "--http-port",
      "0",
      "--grpc-port",
      "0",
    ]),
  );
  const node = await startNode(upstream.ready.grpc, dir);
  const passthrough = await startPassthrough(upstream.ready.grpc);
  try {
    const direct: RoundResult[] = [];
    const bare: Array<Awaited<ReturnType<typeof throughProxy>>> = [];
    const through: typeof bare = [];
    const withKey = new Metadata();
    withKey.set("x-api-key", node.key);
    console.log(`concurrency ${CONCURRENCY}, ${CHANNELS} channel(s), ${SECONDS} s per run, ${ROUNDS} rounds`);
    const proxied = (r: (typeof bare)[number]) =>
      `${fmt(r)}  CPU ${r.cores.toFixed(2)} cores, ${Math.round(r.usPerCall)} µs/call`;
    for (let round = 1; round <= ROUNDS; round++) {
      const d = await closedLoop(upstream.ready.grpc, new Metadata(), SECONDS);
      direct.push(d);
      console.log(`round ${round} direct       ${fmt(d)}`);
      const b = await throughProxy(passthrough.ready.address, new Metadata(), passthrough.pid);
      bare.push(b);
      console.log(`round ${round} passthrough  ${proxied(b)}`);
      const t = await throughProxy(node.grpc, withKey, node.child.pid!);
      through.push(t);
      console.log(`round ${round} via DP       ${proxied(t)}`);
    }
    const rps = (rs: RoundResult[]) => median(rs.map((r) => r.rps));
    const us = (rs: typeof bare) => median(rs.map((r) => r.usPerCall));
    const p = (rs: RoundResult[], q: "p50" | "p99") => median(rs.map((r) => r[q])).toFixed(2);
    console.log(
      `median: direct ${Math.round(rps(direct))}, passthrough ${Math.round(rps(bare))}, via DP ${Math.round(rps(through))} calls/s ` +
        `(DP / passthrough ${(rps(through) / rps(bare)).toFixed(2)}); ` +
        `p50 ${p(direct, "p50")} / ${p(bare, "p50")} / ${p(through, "p50")} ms, ` +
        `p99 ${p(direct, "p99")} / ${p(bare, "p99")} / ${p(through, "p99")} ms; ` +
        `CPU per call passthrough ${Math.round(us(bare))} µs, DP ${Math.round(us(through))} µs ` +
        `(passthrough / DP ${(us(bare) / us(through)).toFixed(2)})`,
    );
  } finally {
    await Promise.all([upstream.stop(), node.stop(), passthrough.stop()]);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
