/**
 * The gRPC ingress and proxy assembled by hand (no node process around them), to check the
 * seams runDataPlane wires: the upstream observer (route latency for the deadline check) and
 * the stages the pipeline is given (an admission stage's rejection and its headers).
 */
import assert from "node:assert/strict";
import { BlockList } from "node:net";
import { after, before, test } from "node:test";
import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import pino from "pino";
import { systemTimers } from "../../data-plane/clock.ts";
import { reject } from "../../data-plane/errors.ts";
import { type GrpcIngress, startGrpcIngress } from "../../data-plane/grpc/grpc-ingress.ts";
import { GrpcProxy } from "../../data-plane/grpc/grpc-proxy.ts";
import { UpstreamSessions } from "../../data-plane/grpc/upstream-sessions.ts";
import { requireConfig } from "../../data-plane/pipeline/config.ts";
import { identifyTenant } from "../../data-plane/pipeline/identify.ts";
import { matchRoute } from "../../data-plane/pipeline/route.ts";
import type { RequestContext, Stage } from "../../data-plane/pipeline/stage.ts";
import { NodeState } from "../../data-plane/node-state.ts";
import { createMetrics } from "../../data-plane/ops/metrics.ts";
import { EchoClient } from "../../proto/gen/corral/demo/v1/echo.ts";
import * as fx from "../data-plane/fixtures.ts";
import { GrpcUpstream } from "./grpc-upstream.ts";

const key = fx.newKey();
const observed: { route: string | undefined; status: number; ms: number; contentType: unknown }[] = [];
let upstream: GrpcUpstream;
let sessions: UpstreamSessions;
let ingress: GrpcIngress;
let client: EchoClient;
let quotaFor = "";

/** Stands in for an admission stage: refuses calls whose message metadata names it. */
const quotaStage: Stage = {
  name: "limit",
  run: (ctx: RequestContext) =>
    ctx.headers["x-test-quota"] === quotaFor && quotaFor !== ""
      ? reject("CORRAL_DP_QUOTA", "tenant rate limit", { "Retry-After": "3", RateLimit: "limit=0" })
      : undefined,
};

before(async () => {
  upstream = await GrpcUpstream.start();
  const t = fx.tenant({ id: "acme", upstream: upstream.address, keys: [{ id: key.id, hash: key.hash }] });
  const live = fx.liveConfig(
    fx.snapshot(1, [{ ...t, routes: t.routes.map((r) => ({ ...r, protocol: "grpc" })) }]),
    fx.signingPair(),
  );
  const timers = systemTimers();
  const state = new NodeState("dp-0", "zone-a", timers);
  sessions = new UpstreamSessions(timers);
  ingress = await startGrpcIngress({
    host: "127.0.0.1",
    port: 0,
    origin: { trustedProxies: new BlockList(), hopKey: () => undefined, now: Date.now },
    logger: pino({ level: "silent" }),
    stages: [requireConfig(() => live), identifyTenant(), matchRoute("grpc"), quotaStage],
    proxy: new GrpcProxy(sessions, {
      maxMessageBytes: 1024,
      observer: {
        onUpstreamResponse: (ctx, statusCode, headers, ms) =>
          observed.push({
            route: ctx.route?.id,
            status: statusCode,
            ms,
            contentType: headers["content-type"],
          }),
      },
    }),
    metrics: createMetrics(state),
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
  await upstream.close();
});

function echo(message: string, md: Record<string, string> = {}): Promise<ServiceError | null> {
  const metadata = new Metadata();
  metadata.set("x-api-key", key.key);
  for (const [k, v] of Object.entries(md)) metadata.set(k, v);
  return new Promise((resolve) => client.echo({ message }, metadata, (err) => resolve(err)));
}

test("the observer hears of each upstream answer with its route, status and time", async () => {
  assert.equal(await echo("slow:50"), null);
  const seen = observed.at(-1)!;
  assert.equal(seen.route, "r1");
  assert.equal(seen.status, 200);
  assert.equal(seen.contentType, "application/grpc+proto");
  assert.ok(seen.ms >= 45 && seen.ms < 2000, `${seen.ms} ms`);
});

test("an admission stage's rejection is a trailers-only status carrying its headers", async () => {
  quotaFor = "yes";
  const before = upstream.seen.length;
  const err = await echo("x", { "x-test-quota": "yes" });
  assert.equal(err?.code, status.RESOURCE_EXHAUSTED);
  assert.deepEqual(err?.metadata.get("corral-reason"), ["quota"]);
  assert.deepEqual(err?.metadata.get("retry-after"), ["3"]);
  assert.deepEqual(err?.metadata.get("ratelimit"), ["limit=0"]);
  assert.equal(upstream.seen.length, before, "the upstream never saw the call");
});

test("a message over the proxy's limit ends the call with RESOURCE_EXHAUSTED", async () => {
  const err = await echo("x".repeat(2000));
  assert.equal(err?.code, status.RESOURCE_EXHAUSTED);
  assert.deepEqual(err?.metadata.get("corral-reason"), ["payload_too_large"]);
});
