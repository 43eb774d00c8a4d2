/**
 * The gRPC ingress of a real node (runDataPlane) between a real grpc-js client and a real grpc-js
 * upstream: unary and every streaming kind, metadata and trailers both ways, every rejection as
 * a trailers-only status with corral-reason, deadlines, cancellation, bounds, metrics and logs.
 */
import assert from "node:assert/strict";
import { connect as h2connect, constants as h2 } from "node:http2";
import { after, before, test } from "node:test";
import { type ClientUnaryCall, credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import type { EchoClient, EchoResponse } from "../../proto/gen/corral/demo/v1/echo.ts";
import type { DataPlaneProcess } from "../../data-plane/main.ts";
import * as fx from "../data-plane/fixtures.ts";
import { closedPort } from "../support/ports.ts";
import { type GrpcNode, grpcTenant, startGrpcNode } from "./grpc-node.ts";
import { GrpcUpstream, StreamsClient } from "./grpc-upstream.ts";
import { grpcFrame, startRawUpstream } from "./raw-h2-upstream.ts";
import { poll } from "../support/poll.ts";

const key = fx.newKey();
const tightKey = fx.newKey();
const suspendedKey = fx.newKey();
const deadKey = fx.newKey();
let grpcNode: GrpcNode;
let upstream: GrpcUpstream;
let rawUpstream: Awaited<ReturnType<typeof startRawUpstream>>;
const rawKey = fx.newKey();
let node: DataPlaneProcess;
let echo: EchoClient;
const logs: string[] = [];

before(async () => {
  upstream = await GrpcUpstream.start();
  rawUpstream = await startRawUpstream();
  const dead = `127.0.0.1:${await closedPort()}`;
  grpcNode = await startGrpcNode(
    [
      grpcTenant({
        id: "acme",
        upstream: upstream.address,
        keys: [{ id: key.id, hash: key.hash }],
        routes: [
          { id: "echo", pathPrefix: "/corral.demo.v1.Echo" },
          { id: "streams", pathPrefix: "/corral.test.v1.Streams" },
          { id: "http-other", pathPrefix: "/other.v1.Service" },
        ],
      }),
      grpcTenant({
        id: "tight",
        upstream: upstream.address,
        keys: [{ id: tightKey.id, hash: tightKey.hash }],
        routes: [{ id: "echo-300ms", pathPrefix: "/corral.demo.v1.Echo", timeoutMs: 300 }],
      }),
      grpcTenant({
        id: "frozen",
        status: "suspended",
        upstream: upstream.address,
        keys: [{ id: suspendedKey.id, hash: suspendedKey.hash }],
      }),
      grpcTenant({
        id: "raw",
        upstream: rawUpstream.address,
        keys: [{ id: rawKey.id, hash: rawKey.hash }],
        routes: [{ id: "raw", pathPrefix: "/raw.v1.Svc" }],
      }),
      grpcTenant({ id: "gone", upstream: dead, keys: [{ id: deadKey.id, hash: deadKey.hash }] }),
    ],
    {
      env: { CORRAL_LOG_LEVEL: "info" },
      options: { logStream: { write: (line: string) => logs.push(line) } },
    },
  );
  ({ node, echo } = grpcNode);
});

after(async () => {
  await grpcNode.close();
  await upstream.close();
  await rawUpstream.close();
});

function metadata(entries: Record<string, string>): Metadata {
  const md = new Metadata();
  for (const [k, v] of Object.entries(entries)) md.set(k, v);
  return md;
}

interface UnaryResult {
  response?: EchoResponse;
  error?: ServiceError;
  headers?: Metadata;
  trailers?: Metadata;
}

function unary(message: string, md: Record<string, string>, deadlineMs = 5000): Promise<UnaryResult> {
  return unaryCall(message, md, deadlineMs).done;
}

function unaryCall(
  message: string,
  md: Record<string, string>,
  deadlineMs = 5000,
): { call: ClientUnaryCall; done: Promise<UnaryResult> } {
  const result: UnaryResult = {};
  let call!: ClientUnaryCall;
  const done = new Promise<UnaryResult>((resolve) => {
    call = echo.echo({ message }, metadata(md), { deadline: Date.now() + deadlineMs }, (error, response) => {
      if (error) result.error = error;
      else result.response = response;
    });
    call.on("metadata", (h) => {
      result.headers = h;
    });
    call.on("status", (s) => {
      result.trailers = s.metadata;
      resolve(result);
    });
  });
  return { call, done };
}

function assertRejected(r: UnaryResult, code: status, reason: string): void {
  assert.equal(r.error?.code, code, `expected status ${code}, got ${r.error?.code}: ${r.error?.details}`);
  assert.deepEqual(r.error?.metadata.get("corral-reason"), [reason]);
}

test("a unary call reaches the upstream with the key stripped, corral-tenant set and the deadline passed on", async () => {
  const before = upstream.seen.length;
  const r = await unary(
    "hello",
    { "x-api-key": key.key, "corral-tenant": "someone-else", "x-custom": "kept" },
    30_000,
  );
  assert.equal(r.error, undefined);
  assert.equal(r.response?.message, "hello");
  const seen = upstream.seen[before]!;
  assert.equal(seen.path, "/corral.demo.v1.Echo/Echo");
  assert.equal(seen.metadata["x-api-key"], undefined);
  assert.equal(seen.metadata.authorization, undefined);
  assert.equal(seen.metadata["corral-tenant"], "acme");
  assert.equal(seen.metadata["x-custom"], "kept");
  assert.equal(seen.metadata["x-forwarded-for"], "127.0.0.1");
  // the time left, not the whole deadline nor nothing (wide: the machine may be loaded)
  assert.ok(seen.deadlineMs <= 30_000 && seen.deadlineMs > 15_000, `upstream deadline ${seen.deadlineMs} ms`);
});

test("Authorization: Bearer identifies the tenant too", async () => {
  const before = upstream.seen.length;
  const r = await unary("bearer", { authorization: `Bearer ${key.key}` });
  assert.equal(r.response?.message, "bearer");
  assert.equal(upstream.seen[before]!.metadata.authorization, undefined);
});

test("a 3 MB message each way arrives intact: the relay waits for the slower side in both directions", async () => {
  const big = "x".repeat(3_000_000);
  const results = await Promise.all(Array.from({ length: 3 }, () => unary(big, { "x-api-key": key.key })));
  for (const r of results) {
    assert.equal(r.error, undefined);
    assert.equal(r.response?.message, big);
  }
});

test("server streaming delivers every message, then OK", async () => {
  const call = echo.echoStream({ message: "tick" }, metadata({ "x-api-key": key.key }));
  const got: string[] = [];
  const final = await new Promise<{ code: number }>((resolve, reject) => {
    call.on("data", (m: EchoResponse) => got.push(m.message));
    call.on("status", resolve);
    call.on("error", reject);
  });
  assert.deepEqual(got, ["tick #0", "tick #1", "tick #2"]);
  assert.equal(final.code, status.OK);
});

test("initial metadata and custom trailers (text and binary) pass through", async () => {
  const r = await unary("trailers", { "x-api-key": key.key });
  assert.equal(r.response?.message, "trailers");
  assert.deepEqual(r.headers?.get("x-initial"), ["first"]);
  assert.deepEqual(r.trailers?.get("x-trailer"), ["last"]);
  assert.deepEqual(r.trailers?.get("x-bin-bin"), [Buffer.from([0, 1, 2, 255])]);
});

test("the upstream's error status, message and trailers reach the client unchanged", async () => {
  const r = await unary("fail", { "x-api-key": key.key });
  assert.equal(r.error?.code, status.INVALID_ARGUMENT);
  assert.equal(r.error?.details, "message must not be fail");
  assert.deepEqual(r.error?.metadata.get("x-why"), ["the upstream said no"]);
  assert.deepEqual(r.error?.metadata.get("corral-reason"), []);
});

test("a missing or unknown key is UNAUTHENTICATED with corral-reason unauthorized", async () => {
  assertRejected(await unary("x", {}), status.UNAUTHENTICATED, "unauthorized");
  const r = await unary("x", { "x-api-key": "ck_not_a_key" });
  assertRejected(r, status.UNAUTHENTICATED, "unauthorized");
  assert.match(r.error!.details, /CORRAL_DP_UNAUTHORIZED: unknown API key/);
});

test("a suspended tenant is PERMISSION_DENIED with corral-reason suspended", async () => {
  assertRejected(await unary("x", { "x-api-key": suspendedKey.key }), status.PERMISSION_DENIED, "suspended");
});

test("a method no gRPC route covers is UNIMPLEMENTED with corral-reason no_route (HTTP routes do not count)", async () => {
  const client = new StreamsClient(node.grpcAddress, credentials.createInsecure());
  try {
    const r = await new Promise<ServiceError | null>((resolve) =>
      client.makeUnaryRequest(
        "/other.v1.Service/Call",
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from("x"),
        metadata({ "x-api-key": key.key }),
        (err) => resolve(err),
      ),
    );
    assert.equal(r?.code, status.UNIMPLEMENTED);
    assert.deepEqual(r?.metadata.get("corral-reason"), ["no_route"]);
  } finally {
    client.close();
  }
});

test("an unreachable upstream is UNAVAILABLE with corral-reason upstream_error", async () => {
  assertRejected(await unary("x", { "x-api-key": deadKey.key }), status.UNAVAILABLE, "upstream_error");
});

test("a 1 ms deadline to a slow upstream is DEADLINE_EXCEEDED", async () => {
  const r = await unary("slow:500", { "x-api-key": key.key }, 1);
  assert.equal(r.error?.code, status.DEADLINE_EXCEEDED);
});

test("the node ends a call at its deadline and cancels the upstream call", async () => {
  const before = upstream.seen.length;
  const started = performance.now();
  const r = await unary("hang", { "x-api-key": key.key }, 250);
  assert.equal(r.error?.code, status.DEADLINE_EXCEEDED);
  assert.ok(performance.now() - started < 2000);
  assert.ok(upstream.seen[before]!.deadlineMs <= 250);
  await poll("the upstream to see the call cancelled", () => upstream.cancelled.includes("hang"));
});

test("an upstream slower than the route's timeout is DEADLINE_EXCEEDED with corral-reason upstream_timeout", async () => {
  const cancelledBefore = upstream.cancelled.length;
  // the client's deadline is far away: only the node's cancel can end the upstream call soon
  const r = await unary("hang", { "x-api-key": tightKey.key }, 60_000);
  assertRejected(r, status.DEADLINE_EXCEEDED, "upstream_timeout");
  await poll(
    "the upstream to see the call cancelled",
    () => upstream.cancelled.length > cancelledBefore,
    2000,
  );
});

test("a client that cancels cancels the upstream call", async () => {
  const before = upstream.seen.length;
  const { call, done } = unaryCall("hang", { "x-api-key": key.key }, 60_000);
  await poll("the call to reach the upstream", () => upstream.seen.length > before);
  const cancelledBefore = upstream.cancelled.filter((m) => m === "hang").length;
  call.cancel();
  const r = await done;
  assert.equal(r.error?.code, status.CANCELLED);
  await poll(
    "the upstream to see the cancellation",
    () => upstream.cancelled.filter((m) => m === "hang").length > cancelledBefore,
    2000,
  );
});

test("client streaming: every message reaches the upstream, its one answer comes back", async () => {
  const client = new StreamsClient(node.grpcAddress, credentials.createInsecure());
  try {
    const answer = await new Promise<Buffer>((resolve, reject) => {
      const call = client.collect(
        metadata({ "x-api-key": key.key }),
        (err: ServiceError | null, b: Buffer) => (err ? reject(err) : resolve(b)),
      );
      for (const part of ["a", "bb", "ccc"]) call.write(Buffer.from(part));
      call.end();
    });
    assert.equal(answer.toString(), "3:abbccc");
  } finally {
    client.close();
  }
});

test("bidi streaming: messages flow both ways interleaved, then OK", async () => {
  const client = new StreamsClient(node.grpcAddress, credentials.createInsecure());
  try {
    const call = client.chat(metadata({ "x-api-key": key.key }));
    const got: string[] = [];
    const ended = new Promise<{ code: number }>((resolve) => call.on("status", resolve));
    for (const word of ["one", "two", "three"]) {
      call.write(Buffer.from(word));
      // each answer arrives before the next message is sent: a real conversation
      await new Promise<void>((resolve) =>
        call.once("data", (b: Buffer) => resolve(void got.push(b.toString()))),
      );
    }
    call.end();
    assert.equal((await ended).code, status.OK);
    assert.deepEqual(got, ["ONE", "TWO", "THREE"]);
  } finally {
    client.close();
  }
});

function rawCall(
  headers: Record<string, string>,
  body?: Buffer,
): Promise<{ headers: Record<string, unknown>; trailers?: Record<string, unknown>; rst?: number }> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`http://${node.grpcAddress}`);
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ":path": "/corral.demo.v1.Echo/Echo", ...headers });
    let answer: Record<string, unknown> = {};
    let trailers: Record<string, unknown> | undefined;
    req.on("response", (h) => {
      answer = h;
    });
    req.on("trailers", (t) => {
      trailers = t;
    });
    req.on("error", () => {});
    req.on("close", () => {
      session.close();
      resolve({ headers: answer, trailers, rst: req.rstCode });
    });
    req.resume();
    req.end(body);
  });
}

test("a request that is no gRPC call gets HTTP 415 with corral-reason bad_request", async () => {
  const r = await rawCall({ "content-type": "application/json", "x-api-key": key.key });
  assert.equal(r.headers[":status"], 415);
  assert.equal(r.headers["corral-reason"], "bad_request");
});

test("a request message declared larger than the limit is RESOURCE_EXHAUSTED, without reading it", async () => {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(64 * 1024 * 1024, 1);
  const r = await rawCall(
    { "content-type": "application/grpc", te: "trailers", "x-api-key": key.key },
    prefix,
  );
  const status = r.trailers ?? r.headers;
  assert.equal(status["grpc-status"], "8");
  assert.equal(status["corral-reason"], "payload_too_large");
  assert.notEqual(r.rst, h2.NGHTTP2_INTERNAL_ERROR);
});

test("calls are counted by status and reason, and logged once each with tenant, route, status and time", async () => {
  const metrics = await (await fetch(`${node.opsUrl}/metrics`)).text();
  assert.match(metrics, /corral_dp_grpc_calls_total\{code="ok",reason="upstream"\} [1-9]/);
  assert.match(metrics, /corral_dp_grpc_calls_total\{code="unauthenticated",reason="unauthorized"\} [1-9]/);
  assert.match(metrics, /corral_dp_grpc_calls_total\{code="invalid_argument",reason="upstream"\} [1-9]/);
  assert.match(metrics, /corral_dp_requests_total\{reason="suspended",status_class="4xx"\} [1-9]/);
  const calls = logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "request" && l.protocol === "grpc");
  const ok = calls.find((l) => l.path === "/corral.demo.v1.Echo/EchoStream");
  assert.deepEqual(ok && [ok.tenant, ok.route, ok.grpcStatus, ok.reason, typeof ok.ms], [
    "acme",
    "echo",
    0,
    "upstream",
    "number",
  ]);
  assert.ok(!logs.some((l) => l.includes(key.key)), "no log line holds the API key");
});

function rawUnary(path: string, md: Record<string, string>): Promise<ServiceError | null> {
  const client = new StreamsClient(node.grpcAddress, credentials.createInsecure());
  return new Promise<ServiceError | null>((resolve) =>
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from("x"),
      metadata(md),
      { deadline: Date.now() + 5000 },
      (err) => resolve(err),
    ),
  ).finally(() => client.close());
}

test("an upstream reset mid-response reaches the client as a failed call, never as OK", async () => {
  const err = await rawUnary("/raw.v1.Svc/Reset", { "x-api-key": rawKey.key });
  assert.equal(err?.code, status.INTERNAL);
});

test("a non-gRPC HTTP answer of the upstream becomes the gRPC status a client would derive from it", async () => {
  const err = await rawUnary("/raw.v1.Svc/Http503", { "x-api-key": rawKey.key });
  assert.equal(err?.code, status.UNAVAILABLE);
  assert.match(err?.details ?? "", /HTTP 503/);
});

test("an upstream whose connection dies mid-call gives UNAVAILABLE; the next call gets a new connection", async () => {
  const err = await rawUnary("/raw.v1.Svc/Crash", { "x-api-key": rawKey.key });
  assert.equal(err?.code, status.UNAVAILABLE, err?.details);
  assert.deepEqual(err?.metadata.get("corral-reason"), ["upstream_error"]);
  const next = await rawUnary("/raw.v1.Svc/Ok", { "x-api-key": rawKey.key });
  assert.equal(next, null);
});

test("an upstream that ends a call without a status gives INTERNAL", async () => {
  const err = await rawUnary("/raw.v1.Svc/NoStatus", { "x-api-key": rawKey.key });
  assert.equal(err?.code, status.INTERNAL);
  assert.match(err?.details ?? "", /without a status/);
});

test("the node enforces grpc-timeout itself: DEADLINE_EXCEEDED with corral-reason deadline, upstream cancelled", async () => {
  const cancelledBefore = upstream.cancelled.length;
  const started = performance.now();
  const r = await rawCall(
    { "content-type": "application/grpc", te: "trailers", "grpc-timeout": "200m", "x-api-key": key.key },
    grpcFrame("\n\x04hang"),
  );
  const took = performance.now() - started;
  const trailers = r.trailers ?? r.headers;
  assert.equal(trailers["grpc-status"], "4");
  assert.equal(trailers["corral-reason"], "deadline");
  assert.ok(took >= 190 && took < 2000, `${took} ms`);
  await poll("the upstream to see the call cancelled", () => upstream.cancelled.length > cancelledBefore);
});

test("metadata over the header list limit fails the call; the node keeps serving", async () => {
  const r = await unary("big", { "x-api-key": key.key, "x-big": "x".repeat(32 * 1024) });
  assert.notEqual(r.error?.code ?? status.OK, status.OK);
  assert.equal((await unary("after", { "x-api-key": key.key })).response?.message, "after");
});

// last: closes the node
test("close() drains: a call in flight finishes, then the port is gone", async () => {
  const seenBefore = upstream.seen.length;
  const inFlight = unary("slow:300", { "x-api-key": key.key });
  await poll("the call to reach the upstream", () => upstream.seen.length > seenBefore);
  await node.close();
  const r = await inFlight;
  assert.equal(r.error, undefined);
  assert.equal(r.response?.message, "slow:300");
  const late = await unary("late", { "x-api-key": key.key }, 1000);
  assert.equal(late.error?.code, status.UNAVAILABLE);
});
