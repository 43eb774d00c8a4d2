/**
 * W3C trace context end to end (issue 11 item 3) on real nodes (runDataPlane, in this process)
 * with a hand-made signed snapshot, a recording upstream and a real OTLP/HTTP receiver that
 * decodes the exported protobuf. Checked: a client's traceparent reaches the upstream with the
 * same trace id and the node's span as the new parent; the exported span's parent is the client's
 * span, it names tenant, route and status (and the reason of a rejection); parent-based sampling
 * (ratio 0, sampled parent: exported; unsampled or new trace: not); an absent or malformed
 * traceparent starts a new trace; peer forwarding keeps one trace (member's span a child of the
 * forwarder's); export off still propagates ids; a hostile client cannot put attributes on the
 * span or get its key exported; a collector that never answers does not slow requests.
 */
import assert from "node:assert/strict";
import { createServer as createTcpServer, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { Slot, Snapshot, type Tenant } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { deriveHopKey } from "../../proto/node-credential.ts";
import type { DataPlaneProcess } from "../../data-plane/main.ts";
import { parseTraceparent } from "../../runtime/trace-context.ts";
import * as fx from "./fixtures.ts";
import { recordingUpstream, type SeenRequest, startNode, type Workspace, workspace } from "./support.ts";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../support/otlp-receiver.ts";
import { closedPort } from "../support/ports.ts";
import { poll } from "../support/poll.ts";

const pair = fx.signingPair();
const keys = { here: fx.newKey(), anywhere: fx.newKey() };
const HOP_KEY = deriveHopKey("the trace test fleet's node secret, thirty-two characters");
const CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN = "00f067aa0ba902b7";

let ws: Workspace;
let upstream: Awaited<ReturnType<typeof recordingUpstream>>;
let receiver: OtlpReceiver;
let blackhole: { url: string; close(): Promise<void> };
const nodes: DataPlaneProcess[] = [];
const urls: string[] = [];

/** dp-0, dp-1: export to the receiver at ratio 0; dp-2: to a collector that never answers, ratio 1; dp-3: export off. */
function nodeEnv(i: number): Record<string, string> {
  if (i < 2) return { CORRAL_OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, CORRAL_TRACE_SAMPLE_RATIO: "0" };
  if (i === 2)
    return {
      CORRAL_OTEL_EXPORTER_OTLP_ENDPOINT: blackhole.url,
      CORRAL_TRACE_SAMPLE_RATIO: "1",
      CORRAL_TRACE_QUEUE_SIZE: "64",
    };
  return {};
}

/** Accepts connections and never answers: the worst collector. */
async function startBlackhole() {
  const sockets = new Set<Socket>();
  const server = createTcpServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function tenant(id: keyof typeof keys, shard: string[]): Tenant {
  const k = keys[id];
  return { ...fx.tenant({ id, upstream: upstream.url, keys: [{ id: k.id, hash: k.hash }] }), shard };
}

before(async () => {
  ws = await workspace();
  upstream = await recordingUpstream();
  receiver = await startOtlpReceiver();
  blackhole = await startBlackhole();
  const cpUrl = `http://127.0.0.1:${await closedPort()}`;
  for (let i = 0; i < 4; i++) {
    const port = await closedPort();
    urls.push(`http://127.0.0.1:${port}`);
    const env = {
      CORRAL_SLOT: `dp-${i}`,
      CORRAL_HTTP_PORT: String(port),
      CORRAL_DATA_DIR: `${ws.dataDir}-${i}`,
    };
    nodes.push(await startNode({ ws, pair, cpUrl, pollMs: 200, env: { ...env, ...nodeEnv(i) } }));
  }
  const snap = Snapshot.fromPartial({
    version: 1,
    epoch: 1,
    createdAtMs: Date.now(),
    // four nodes share this process on a busy machine: shedding is not what is tested
    settings: { hopKey: HOP_KEY, admission: { shedDisabled: true } },
    slots: urls.map((httpUrl, i) =>
      Slot.fromPartial({ name: `dp-${i}`, zone: "zone-a", httpUrl, live: true }),
    ),
    tenants: [tenant("here", ["dp-0"]), tenant("anywhere", [])],
  });
  await fx.publish(ws.store, fx.sign(snap, pair));
  await poll("version 1 on every node", () => nodes.every((n) => n.state.version === 1));
});

after(async () => {
  // the collector that never answers goes first: the node's close then need not wait out the export timeout
  await blackhole.close();
  await Promise.all(nodes.map((n) => n.close()));
  await Promise.all([upstream.close(), receiver.close()]);
  await ws.remove();
});

let seq = 0;
/** A request to node `i` with a unique path (to find what the upstream saw), and what it saw. */
async function call(i: number, tenantId: keyof typeof keys, headers: Record<string, string> = {}) {
  const path = `/trace/${++seq}`;
  const res = await fetch(urls[i] + path, { headers: { "x-api-key": keys[tenantId].key, ...headers } });
  await res.arrayBuffer();
  const seen = upstream.seen.find((s) => s.url === path);
  return { res, seen };
}

function upstreamParent(seen: SeenRequest | undefined) {
  const parsed = parseTraceparent(seen?.headers.traceparent);
  assert.ok(parsed, `the upstream got a valid traceparent: ${seen?.headers.traceparent}`);
  return parsed;
}

function spanOf(traceId: string, spanId: string): Promise<ReceivedSpan> {
  return poll(`span ${spanId} of trace ${traceId} exported`, () =>
    receiver.spans.find((s) => s.traceId === traceId && s.spanId === spanId),
  );
}

/** A fresh client traceparent (each test its own trace). */
function clientTrace(n: number, sampled: boolean): { traceId: string; header: string } {
  const traceId = CLIENT_TRACE.slice(0, 28) + n.toString(16).padStart(4, "0");
  return { traceId, header: `00-${traceId}-${CLIENT_SPAN}-${sampled ? "01" : "00"}` };
}

test("a sampled client traceparent reaches the upstream with the same trace id and the node's span as parent; the span is exported (ratio 0, parent-based)", async () => {
  const client = clientTrace(1, true);
  const { res, seen } = await call(0, "here", { traceparent: client.header, tracestate: "vendor=abc" });
  assert.equal(res.status, 200, res.headers.get("corral-reason") ?? "");
  assert.equal(res.headers.get("corral-trace-id"), client.traceId);
  const up = upstreamParent(seen);
  assert.equal(up.traceId, client.traceId);
  assert.notEqual(up.parentId, CLIENT_SPAN, "a new parent id: the node's span");
  assert.equal(up.sampled, true);
  assert.equal(seen?.headers.tracestate, "vendor=abc");
  const span = await spanOf(client.traceId, up.parentId);
  assert.equal(span.parentSpanId, CLIENT_SPAN);
  assert.equal(span.service, "corral-dp");
  assert.equal(span.kind, 2); // SERVER
  assert.equal(span.name, "GET r1");
  assert.equal(span.traceState, "vendor=abc");
  assert.equal(span.attributes["corral.tenant.id"], "here");
  assert.equal(span.attributes["corral.route.id"], "r1");
  assert.equal(span.attributes["http.response.status_code"], 200);
  assert.equal(span.attributes["corral.reason"], undefined);
});

test("no traceparent, or an unsampled one, at ratio 0: ids propagate, nothing is exported", async () => {
  const fresh = await call(0, "here");
  const started = upstreamParent(fresh.seen);
  assert.equal(fresh.res.headers.get("corral-trace-id"), started.traceId, "a new trace, named in the answer");
  assert.equal(started.sampled, false);
  const client = clientTrace(2, false);
  const unsampled = await call(0, "here", { traceparent: client.header });
  const up = upstreamParent(unsampled.seen);
  assert.equal(up.traceId, client.traceId);
  assert.notEqual(up.parentId, CLIENT_SPAN);
  assert.equal(up.sampled, false);
  // a sampled request after them: once its span is in, theirs would be too (one queue, in order)
  const marker = clientTrace(3, true);
  const later = await call(0, "here", { traceparent: marker.header });
  await spanOf(marker.traceId, upstreamParent(later.seen).parentId);
  assert.equal(
    receiver.spans.filter((s) => s.traceId === started.traceId || s.traceId === client.traceId).length,
    0,
  );
});

test("a malformed traceparent starts a new trace", async () => {
  for (const bad of [
    `00-${CLIENT_TRACE.toUpperCase()}-${CLIENT_SPAN}-01`,
    `00-${"0".repeat(32)}-${CLIENT_SPAN}-01`,
    `ff-${CLIENT_TRACE}-${CLIENT_SPAN}-01`,
    `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01-${"x".repeat(2000)}`,
  ]) {
    const { res, seen } = await call(0, "here", { traceparent: bad, tracestate: "vendor=abc" });
    const up = upstreamParent(seen);
    assert.notEqual(up.traceId, CLIENT_TRACE);
    assert.notEqual(up.traceId, CLIENT_TRACE.toUpperCase());
    assert.equal(up.sampled, false, "a new trace at ratio 0 is not sampled");
    assert.equal(seen?.headers.tracestate, undefined, "no tracestate without its traceparent");
    assert.equal(res.headers.get("corral-trace-id"), up.traceId);
  }
});

test("peer forwarding keeps one trace: the member's span is the child of the forwarder's", async () => {
  const client = clientTrace(4, true);
  const { res, seen } = await call(1, "here", { traceparent: client.header });
  assert.equal(res.status, 200, res.headers.get("corral-reason") ?? "");
  assert.equal(res.headers.get("corral-trace-id"), client.traceId);
  const up = upstreamParent(seen);
  assert.equal(up.traceId, client.traceId);
  const member = await spanOf(client.traceId, up.parentId);
  const forwarder = await spanOf(client.traceId, member.parentSpanId);
  assert.equal(forwarder.parentSpanId, CLIENT_SPAN);
  assert.equal(forwarder.attributes["corral.reason"], "forwarded");
  assert.equal(member.attributes["corral.reason"], undefined);
  for (const span of [member, forwarder]) {
    assert.equal(span.attributes["corral.tenant.id"], "here");
    assert.equal(span.attributes["http.response.status_code"], 200);
  }
});

test("a rejection carries the trace id and its span names the reason", async () => {
  const client = clientTrace(5, true);
  const res = await fetch(`${urls[0]}/nope`, {
    headers: { "x-api-key": "not-a-key", traceparent: client.header },
  });
  await res.arrayBuffer();
  assert.equal(res.status, 401);
  assert.equal(res.headers.get("corral-trace-id"), client.traceId);
  const span = await poll("the rejection's span", () =>
    receiver.spans.find((s) => s.traceId === client.traceId && s.parentSpanId === CLIENT_SPAN),
  );
  assert.equal(span.attributes["corral.reason"], res.headers.get("corral-reason"));
  assert.equal(span.attributes["http.response.status_code"], 401);
  assert.equal(span.attributes["corral.tenant.id"], undefined);
});

test("attack: a hostile client cannot put attributes on the span, and its key is never exported", async () => {
  const client = clientTrace(6, true);
  const { seen } = await call(0, "here", {
    traceparent: client.header,
    tracestate: "corral=t61rcWkgMzE,x@y=1",
    baggage: "corral.tenant.id=evil,http.response.status_code=999",
    "corral-tenant": "evil",
    "x-corral-attr": "evil",
  });
  const span = await spanOf(client.traceId, upstreamParent(seen).parentId);
  assert.deepEqual(Object.keys(span.attributes).sort(), [
    "corral.route.id",
    "corral.tenant.id",
    "http.request.method",
    "http.response.status_code",
  ]);
  assert.equal(span.attributes["corral.tenant.id"], "here");
  assert.equal(span.attributes["http.response.status_code"], 200);
  const exported = Buffer.concat(receiver.bodies).toString("latin1");
  assert.ok(!exported.includes(keys.here.key), "the API key is never exported");
  assert.ok(!exported.includes("evil"), "no client header value is exported");
});

test("export off: ids still propagate with the node's span as the new parent", async () => {
  const client = clientTrace(7, true);
  const { res, seen } = await call(3, "anywhere", { traceparent: client.header });
  const up = upstreamParent(seen);
  assert.equal(up.traceId, client.traceId);
  assert.notEqual(up.parentId, CLIENT_SPAN);
  assert.equal(up.sampled, true, "the client's decision travels on");
  assert.equal(res.headers.get("corral-trace-id"), client.traceId);
});

test("attack: a collector that never answers does not slow requests (export queue bounded)", async () => {
  const slowest: number[] = [];
  for (let i = 0; i < 300; i++) {
    const started = performance.now();
    const { res } = await call(2, "anywhere", { traceparent: clientTrace(100 + i, true).header });
    assert.equal(res.status, 200);
    slowest.push(performance.now() - started);
  }
  slowest.sort((a, b) => b - a);
  // an export waits up to 5 s for the collector: a request that waited on one would show it
  assert.ok(slowest[0]! < 2_000, `slowest request ${slowest[0]!.toFixed(0)} ms`);
});
