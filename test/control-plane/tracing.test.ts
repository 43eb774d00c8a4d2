/**
 * The control plane's spans against a real OTLP/HTTP receiver (protobuf decoded): one server span
 * per admin and tenant API call (the caller's traceparent as parent, the route template, status,
 * operator or tenant) and one span per publish (version, epoch, tenants, bytes). A real control
 * plane on a private Postgres (harness.ts), export at ratio 1.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type OtlpReceiver, startOtlpReceiver } from "../support/otlp-receiver.ts";
import { poll } from "../support/poll.ts";
import { type Harness, startHarness } from "./harness.ts";

let h: Harness;
let receiver: OtlpReceiver;

before(async () => {
  receiver = await startOtlpReceiver();
  h = await startHarness(
    {},
    { CORRAL_OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, CORRAL_TRACE_SAMPLE_RATIO: "1" },
  );
});
after(async () => {
  await h.close();
  await receiver.close();
});

const TRACE = "5bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "10f067aa0ba902b7";

test("an admin call is one server span, child of the caller's, naming route, status and operator; its publish is a span", async () => {
  const created = await h.api(
    "POST",
    "/admin/v1/tenants",
    { id: "traced", name: "Traced", plan: "free" },
    { traceparent: `00-${TRACE}-${PARENT}-01` },
  );
  assert.equal(created.status, 201);
  const span = await poll("the admin call's span", () =>
    receiver.spans.find((s) => s.traceId === TRACE && s.parentSpanId === PARENT),
  );
  assert.equal(span.service, "corral-cp");
  assert.equal(span.name, "POST /admin/v1/tenants");
  assert.equal(span.attributes["http.route"], "/admin/v1/tenants");
  assert.equal(span.attributes["http.response.status_code"], 201);
  assert.equal(span.attributes["corral.operator"], "bootstrap");
  await h.cp.publisher.idle();
  const publish = await poll("the change's publish span", () =>
    receiver.spans.find((s) => s.name === "publish" && s.attributes["corral.publish.source"] === "change"),
  );
  assert.ok(Number(publish.attributes["corral.publish.version"]) > 1);
  assert.equal(publish.attributes["corral.publish.tenants"], 1);
  assert.ok(Number(publish.attributes["corral.publish.bytes"]) > 0);
});

test("a tenant API call's span names the tenant; the key is never exported", async () => {
  const key = await h.api("POST", "/admin/v1/tenants/traced/keys", { scopes: ["manage"] });
  assert.equal(key.status, 201);
  const res = await fetch(`${h.cp.url}/v1/tenant`, { headers: { "x-api-key": key.body.key } });
  assert.equal(res.status, 200);
  const span = await poll("the tenant call's span", () =>
    receiver.spans.find((s) => s.name === "GET /v1/tenant"),
  );
  assert.equal(span.attributes["corral.tenant.id"], "traced");
  assert.equal(span.attributes["http.response.status_code"], 200);
  assert.equal(span.parentSpanId, "", "no traceparent: a new trace");
  assert.ok(!Buffer.concat(receiver.bodies).toString("latin1").includes(key.body.key));
});
