/**
 * W3C trace context through the gRPC ingress of a real node, grpc-js client and upstream, a real
 * OTLP/HTTP receiver: the call's traceparent metadata reaches the upstream with the same trace id
 * and the node's span as the parent, the answer names the trace (corral-trace-id), and the
 * exported span (ratio 0: parent-based on the sampled parent) names tenant, route and status.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Metadata } from "@grpc/grpc-js";
import { parseTraceparent } from "../../runtime/trace-context.ts";
import * as fx from "../data-plane/fixtures.ts";
import { type OtlpReceiver, startOtlpReceiver } from "../support/otlp-receiver.ts";
import { poll } from "../support/poll.ts";
import { type GrpcNode, grpcTenant, startGrpcNode } from "./grpc-node.ts";
import { GrpcUpstream } from "./grpc-upstream.ts";

const key = fx.newKey();
let upstream: GrpcUpstream;
let receiver: OtlpReceiver;
let grpcNode: GrpcNode;

before(async () => {
  upstream = await GrpcUpstream.start();
  receiver = await startOtlpReceiver();
  grpcNode = await startGrpcNode(
    [
      grpcTenant({
        id: "acme",
        upstream: upstream.address,
        keys: [{ id: key.id, hash: key.hash }],
        routes: [{ id: "echo", pathPrefix: "/corral.demo.v1.Echo" }],
      }),
    ],
    { env: { CORRAL_OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, CORRAL_TRACE_SAMPLE_RATIO: "0" } },
  );
});

after(async () => {
  await grpcNode.close();
  await upstream.close();
  await receiver.close();
});

test("a gRPC call's traceparent reaches the upstream under the node's span, which is exported", async () => {
  const traceId = "0af7651916cd43dd8448eb211c80319c";
  const clientSpan = "b7ad6b7169203331";
  const md = new Metadata();
  md.set("x-api-key", key.key);
  md.set("traceparent", `00-${traceId}-${clientSpan}-01`);
  let answered: Metadata | undefined;
  await new Promise<void>((resolve, reject) => {
    const call = grpcNode.echo.echo({ message: "traced" }, md, (err) => (err ? reject(err) : resolve()));
    call.on("metadata", (h) => {
      answered = h;
    });
  });
  assert.equal(answered?.get("corral-trace-id")[0], traceId);
  const seen = upstream.seen.at(-1);
  const up = parseTraceparent(seen?.metadata.traceparent);
  assert.ok(up, `the upstream got a valid traceparent: ${seen?.metadata.traceparent}`);
  assert.equal(up.traceId, traceId);
  assert.notEqual(up.parentId, clientSpan);
  assert.equal(up.sampled, true);
  const span = await poll("the call's span exported", () =>
    receiver.spans.find((s) => s.traceId === traceId && s.spanId === up.parentId),
  );
  assert.equal(span.parentSpanId, clientSpan);
  assert.equal(span.name, "POST echo");
  assert.equal(span.attributes["corral.tenant.id"], "acme");
  assert.equal(span.attributes["corral.route.id"], "echo");
  assert.equal(span.attributes["http.response.status_code"], 200);
});
