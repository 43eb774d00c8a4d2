/**
 * gRPC calls through the node's real admission (isolation.ts: the stages and the upstream
 * observer runDataPlane gives the gRPC ingress): a deadline shorter than the route usually
 * takes is refused before the upstream sees it, and a tenant over its rate gets
 * RESOURCE_EXHAUSTED with Retry-After, as HTTP requests do.
 */
import assert from "node:assert/strict";
import { BlockList } from "node:net";
import { after, before, test } from "node:test";
import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import pino from "pino";
import { systemTimers } from "../../data-plane/clock.ts";
import { type GrpcIngress, startGrpcIngress } from "../../data-plane/grpc/grpc-ingress.ts";
import { GrpcProxy } from "../../data-plane/grpc/grpc-proxy.ts";
import { UpstreamSessions } from "../../data-plane/grpc/upstream-sessions.ts";
import { type Isolation, startIsolation } from "../../data-plane/isolation.ts";
import { NodeState } from "../../data-plane/node-state.ts";
import { createMetrics } from "../../data-plane/ops/metrics.ts";
import { EchoClient } from "../../proto/gen/corral/demo/v1/echo.ts";
import * as fx from "../data-plane/fixtures.ts";
import { GrpcUpstream } from "./grpc-upstream.ts";

const key = fx.newKey();
const limitedKey = fx.newKey();
let upstream: GrpcUpstream;
let sessions: UpstreamSessions;
let isolation: Isolation;
let ingress: GrpcIngress;
let client: EchoClient;

function grpcTenant(spec: fx.TenantSpec, limits?: { rate: number; burst: number }) {
  const t = fx.tenant(spec);
  return {
    ...t,
    limits: limits && {
      ...limits,
      concurrency: 0,
      priority: "",
      shardSize: 1,
      shadow: false,
      disabled: false,
    },
    routes: t.routes.map((r) => ({ ...r, protocol: "grpc" })),
  };
}

before(async () => {
  upstream = await GrpcUpstream.start();
  const live = fx.liveConfig(
    fx.snapshot(1, [
      grpcTenant({ id: "acme", upstream: upstream.address, keys: [{ id: key.id, hash: key.hash }] }),
      grpcTenant(
        { id: "small", upstream: upstream.address, keys: [{ id: limitedKey.id, hash: limitedKey.hash }] },
        { rate: 1, burst: 2 },
      ),
    ]),
    fx.signingPair(),
  );
  const timers = systemTimers();
  const state = new NodeState("dp-0", "zone-a", timers);
  state.install(live);
  const metrics = createMetrics(state);
  const log = pino({ level: "silent" });
  isolation = startIsolation({
    slot: "dp-0",
    state,
    metrics,
    timers,
    random: Math.random,
    log,
    redisUrl: undefined,
    crashOnHeader: undefined,
    hopKey: () => undefined,
  });
  sessions = new UpstreamSessions(timers);
  ingress = await startGrpcIngress({
    host: "127.0.0.1",
    port: 0,
    origin: { trustedProxies: new BlockList(), hopKey: () => undefined, now: Date.now },
    logger: log,
    stages: isolation.stages("grpc", () => live),
    proxy: new GrpcProxy(sessions, { maxMessageBytes: 1024 * 1024, observer: isolation.upstreamObserver }),
    metrics,
    state,
    maxHeaderBytes: 16 * 1024,
    maxConcurrentStreams: 100,
  });
  client = new EchoClient(ingress.address, credentials.createInsecure());
});

after(async () => {
  client.close();
  await ingress.close(1000);
  await sessions.close();
  await isolation.close();
  await upstream.close();
});

function echo(message: string, apiKey: string, deadlineMs = 5000): Promise<ServiceError | null> {
  const md = new Metadata();
  md.set("x-api-key", apiKey);
  return new Promise((resolve) =>
    client.echo({ message }, md, { deadline: Date.now() + deadlineMs }, (err) => resolve(err)),
  );
}

test("once the route's latency is known, a deadline shorter than it is refused without reaching the upstream", async () => {
  for (let i = 0; i < 6; i++) assert.equal(await echo("slow:80", key.key), null);
  const before = upstream.seen.length;
  const err = await echo("slow:80", key.key, 30);
  assert.equal(err?.code, status.DEADLINE_EXCEEDED);
  assert.deepEqual(err?.metadata.get("corral-reason"), ["deadline"]);
  assert.equal(upstream.seen.length, before, "the upstream never saw the call");
  assert.equal(await echo("slow:80", key.key, 2000), null, "a deadline that leaves enough time still works");
});

test("a tenant over its rate gets RESOURCE_EXHAUSTED with corral-reason quota and Retry-After", async () => {
  const results = [];
  for (let i = 0; i < 4; i++) results.push(await echo("x", limitedKey.key));
  const refused = results.filter((e) => e?.code === status.RESOURCE_EXHAUSTED);
  assert.ok(refused.length >= 1, `codes ${results.map((e) => e?.code ?? 0)}`);
  assert.deepEqual(refused[0]!.metadata.get("corral-reason"), ["quota"]);
  assert.ok(Number(refused[0]!.metadata.get("retry-after")[0]) >= 1);
});
