/**
 * Gateway idempotency keys for gRPC through a real node, a real Redis and a grpc-js upstream: a
 * unary call with `idempotency-key` metadata on a route that opts in runs once and is replayed
 * (message, response metadata and trailers, marked corral-idempotent-replay); in flight ABORTED,
 * another message INVALID_ARGUMENT, an answer too large to keep FAILED_PRECONDITION; keys scoped
 * per tenant; bad keys and streaming calls refused; Redis down UNAVAILABLE and never run.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import type { EchoResponse } from "../../proto/gen/corral/demo/v1/echo.ts";
import * as fx from "../data-plane/fixtures.ts";
import { poll } from "../support/poll.ts";
import { closedPort } from "../support/ports.ts";
import { type RedisServer, startRedis } from "../support/redis.ts";
import { type GrpcNode, grpcTenant, startGrpcNode } from "./grpc-node.ts";
import { GrpcUpstream, StreamsClient } from "./grpc-upstream.ts";

const acmeKey = fx.newKey();
const betaKey = fx.newKey();
const gammaKey = fx.newKey();
let redis: RedisServer;
let upstream: GrpcUpstream;
let node: GrpcNode;

const MAX_ANSWER = 600;

before(async () => {
  redis = await startRedis();
  upstream = await GrpcUpstream.start();
  const nowhere = `127.0.0.1:${await closedPort()}`;
  const routes = [
    { id: "echo", pathPrefix: "/corral.demo.v1.Echo/", idempotency: true },
    { id: "streams", pathPrefix: "/corral.test.v1.Streams/", idempotency: true },
  ];
  const tenant = (id: string, key: { id: string; hash: Buffer }, to = upstream.address) =>
    grpcTenant({ id, upstream: to, keys: [{ id: key.id, hash: key.hash }], routes });
  const tenants = [tenant("acme", acmeKey), tenant("beta", betaKey), tenant("gamma", gammaKey, nowhere)];
  node = await startGrpcNode(tenants, {
    env: {
      CORRAL_REDIS_URL: redis.url,
      CORRAL_IDEMPOTENCY_MAX_RESPONSE_BYTES: String(MAX_ANSWER),
      CORRAL_IDEMPOTENCY_LEASE_MS: "2000",
    },
  });
});

after(async () => {
  await node?.close();
  await upstream?.close();
  await redis?.destroy();
});

interface Answer {
  err: ServiceError | null;
  message?: string;
  headers: Metadata;
  trailers?: Metadata;
}

function echo(
  message: string,
  idemKey: string | undefined,
  apiKey = acmeKey.key,
  deadlineMs = 10_000,
): Promise<Answer> {
  const md = new Metadata();
  md.set("x-api-key", apiKey);
  if (idemKey !== undefined) md.set("idempotency-key", idemKey);
  return new Promise((resolve) => {
    let headers = new Metadata();
    let trailers: Metadata | undefined;
    const call = node.echo.echo(
      { message },
      md,
      { deadline: Date.now() + deadlineMs },
      (err: ServiceError | null, res?: EchoResponse) =>
        // the callback can come before 'status': let the status event land first
        setImmediate(() => resolve({ err, message: res?.message, headers, trailers })),
    );
    call.on("metadata", (m) => {
      headers = m;
    });
    call.on("status", (s) => {
      trailers = s.metadata;
    });
  });
}

/** How many times the upstream saw a call with this idempotency key. */
const executions = (idemKey: string) =>
  upstream.seen.filter((c) => c.metadata["idempotency-key"] === idemKey).length;

const reasonOf = (a: Answer) => String(a.err?.metadata.get("corral-reason")[0]);

test("a keyed call runs once; its retry gets the message, the metadata and the trailers again", async () => {
  const first = await echo("trailers", "order-1");
  assert.equal(first.err, null, first.err?.message);
  assert.equal(first.message, "trailers");
  assert.deepEqual(first.headers.get("corral-idempotent-replay"), []);
  const again = await echo("trailers", "order-1");
  assert.equal(again.err, null, again.err?.message);
  assert.equal(again.message, "trailers");
  assert.deepEqual(again.headers.get("corral-idempotent-replay"), ["true"]);
  assert.deepEqual(again.headers.get("x-initial"), ["first"]);
  assert.deepEqual(again.trailers?.get("x-trailer"), ["last"]);
  assert.deepEqual(again.trailers?.get("x-bin-bin"), [Buffer.from([0, 1, 2, 255])]);
  assert.equal(executions("order-1"), 1);
});

test("an error answer is the answer too: replayed with its code and trailers, not run again", async () => {
  const first = await echo("fail", "order-fail");
  assert.equal(first.err?.code, status.INVALID_ARGUMENT);
  const again = await echo("fail", "order-fail");
  assert.equal(again.err?.code, status.INVALID_ARGUMENT);
  assert.equal(again.err?.details, "message must not be fail");
  assert.deepEqual(again.err?.metadata.get("x-why"), ["the upstream said no"]);
  assert.deepEqual(again.err?.metadata.get("corral-idempotent-replay"), ["true"]);
  assert.equal(executions("order-fail"), 1);
});

test("the same key while the first call runs is ABORTED idempotency_in_flight; afterwards a replay", async () => {
  const first = echo("slow:1500", "order-2");
  await poll("the first call to reach the upstream", () => executions("order-2") === 1);
  const during = await echo("slow:1500", "order-2");
  assert.equal(during.err?.code, status.ABORTED);
  assert.equal(reasonOf(during), "idempotency_in_flight");
  assert.equal((await first).err, null);
  const after = await echo("slow:1500", "order-2");
  assert.deepEqual([after.err, after.message], [null, "slow:1500"]);
  assert.equal(executions("order-2"), 1);
});

test("the same key with another message or method is INVALID_ARGUMENT idempotency_mismatch", async () => {
  assert.equal((await echo("one", "order-3")).err, null);
  const other = await echo("two", "order-3");
  assert.equal(other.err?.code, status.INVALID_ARGUMENT);
  assert.equal(reasonOf(other), "idempotency_mismatch");
  assert.equal(executions("order-3"), 1);
});

test("an answer larger than the record keeps runs once; its retry is FAILED_PRECONDITION idempotency_spent", async () => {
  const big = "x".repeat(MAX_ANSWER);
  assert.equal((await echo(big, "order-big")).message, big);
  const again = await echo(big, "order-big");
  assert.equal(again.err?.code, status.FAILED_PRECONDITION);
  assert.equal(reasonOf(again), "idempotency_spent");
  assert.equal(executions("order-big"), 1);
});

test("a call that reached the upstream but got no status (deadline) spends its key: never run again", async () => {
  const first = await echo("hang", "order-hang", acmeKey.key, 500);
  assert.equal(first.err?.code, status.DEADLINE_EXCEEDED);
  const again = await poll("the first attempt's record to be finished", async () => {
    const a = await echo("hang", "order-hang");
    return reasonOf(a) !== "idempotency_in_flight" && a;
  });
  assert.equal(again.err?.code, status.FAILED_PRECONDITION);
  assert.equal(reasonOf(again), "idempotency_spent");
  assert.equal(executions("order-hang"), 1);
});

test("a call that never reached an upstream frees its key: the retry is tried, not refused", async () => {
  const first = await echo("hi", "order-nowhere", gammaKey.key);
  assert.equal(first.err?.code, status.UNAVAILABLE, first.err?.message);
  assert.ok(["upstream_error", "circuit_open"].includes(reasonOf(first)), reasonOf(first));
  const retry = await poll("the key to be freed", async () => {
    const a = await echo("hi", "order-nowhere", gammaKey.key);
    return reasonOf(a) !== "idempotency_in_flight" && a;
  });
  assert.ok(["upstream_error", "circuit_open"].includes(reasonOf(retry)), reasonOf(retry));
});

test("attack: tenant B's call with tenant A's key is its own, never A's answer", async () => {
  assert.equal((await echo("acme's secret", "shared-key")).err, null);
  const beta = await echo("acme's secret", "shared-key", betaKey.key);
  assert.equal(beta.err, null);
  assert.deepEqual(beta.headers.get("corral-idempotent-replay"), [], "not a replay of acme's answer");
  assert.equal(executions("shared-key"), 2);
  const betaAgain = await echo("acme's secret", "shared-key", betaKey.key);
  assert.deepEqual(betaAgain.headers.get("corral-idempotent-replay"), ["true"]);
  assert.equal(executions("shared-key"), 2);
});

test("attack: an oversize or non-ASCII key is INVALID_ARGUMENT bad_idempotency_key and not run", async () => {
  for (const bad of ["k".repeat(256), "a b"]) {
    const refused = await echo("hi", bad);
    assert.equal(refused.err?.code, status.INVALID_ARGUMENT, bad);
    assert.equal(reasonOf(refused), "bad_idempotency_key");
    assert.equal(executions(bad), 0);
  }
  assert.equal((await echo("hi", "k".repeat(255))).err, null, "255 characters is the bound");
});

test("a keyed streaming call (more than one request message) is refused, not run unprotected", async () => {
  const client = new StreamsClient(node.node.grpcAddress, credentials.createInsecure());
  try {
    const md = new Metadata();
    md.set("x-api-key", acmeKey.key);
    md.set("idempotency-key", "stream-1");
    const err = await new Promise<ServiceError | null>((resolve) => {
      const call = client.collect(md, { deadline: Date.now() + 10_000 }, (e: ServiceError | null) =>
        resolve(e),
      );
      call.write(Buffer.from("a"));
      call.write(Buffer.from("b"));
      call.end();
    });
    assert.equal(err?.code, status.INVALID_ARGUMENT);
    assert.match(err?.details ?? "", /unary calls/);
    assert.equal(executions("stream-1"), 0);
  } finally {
    client.close();
  }
});

test("Redis down: a keyed call is UNAVAILABLE idempotency_unavailable and never reaches the upstream", async () => {
  await redis.stop();
  const refused = await echo("hi", "order-down");
  assert.equal(refused.err?.code, status.UNAVAILABLE);
  assert.equal(reasonOf(refused), "idempotency_unavailable");
  assert.equal(executions("order-down"), 0);
  assert.equal((await echo("hi", undefined)).err, null, "calls without a key still pass");
});
