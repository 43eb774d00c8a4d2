/**
 * gRPC calls through a real node's admission (the stages and the upstream observer
 * runDataPlane gives the gRPC ingress): a deadline shorter than the route usually
 * takes is refused before the upstream sees it, and a tenant over its rate gets
 * RESOURCE_EXHAUSTED with Retry-After, as HTTP requests do; so does a tenant whose period
 * quota is used up, with the quota in the RateLimit metadata.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import type { EchoClient } from "../../proto/gen/corral/demo/v1/echo.ts";
import { Limits } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import * as fx from "../data-plane/fixtures.ts";
import { type GrpcNode, grpcTenant, startGrpcNode } from "./grpc-node.ts";
import { GrpcUpstream } from "./grpc-upstream.ts";

const key = fx.newKey();
const limitedKey = fx.newKey();
const quotaKey = fx.newKey();
let upstream: GrpcUpstream;
let node: GrpcNode;
let client: EchoClient;

before(async () => {
  upstream = await GrpcUpstream.start();
  node = await startGrpcNode([
    grpcTenant({ id: "acme", upstream: upstream.address, keys: [{ id: key.id, hash: key.hash }] }),
    grpcTenant(
      { id: "small", upstream: upstream.address, keys: [{ id: limitedKey.id, hash: limitedKey.hash }] },
      { rate: 1, burst: 2 },
    ),
    {
      ...grpcTenant({
        id: "metered",
        upstream: upstream.address,
        keys: [{ id: quotaKey.id, hash: quotaKey.hash }],
      }),
      limits: Limits.fromPartial({ quota: { limit: 2, period: "day", offsetMs: 0 } }),
    },
  ]);
  client = node.echo;
});

after(async () => {
  await node.close();
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

test("a tenant over its period quota gets RESOURCE_EXHAUSTED with quota, Retry-After and RateLimit metadata", async () => {
  assert.equal(await echo("x", quotaKey.key), null);
  assert.equal(await echo("x", quotaKey.key), null);
  const before = upstream.seen.length;
  const refused = await echo("x", quotaKey.key);
  assert.equal(refused?.code, status.RESOURCE_EXHAUSTED);
  assert.deepEqual(refused.metadata.get("corral-reason"), ["quota"]);
  assert.ok(Number(refused.metadata.get("retry-after")[0]) >= 1);
  assert.match(String(refused.metadata.get("ratelimit")[0]), /^"quota";r=0;t=\d+$/);
  assert.deepEqual(refused.metadata.get("ratelimit-policy"), ['"quota";q=2;w=86400']);
  assert.equal(upstream.seen.length, before, "the upstream never saw the refused call");
});
