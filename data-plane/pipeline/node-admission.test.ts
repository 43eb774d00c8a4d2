import assert from "node:assert/strict";
import { BlockList } from "node:net";
import { test } from "node:test";
import { Registry } from "prom-client";
import { type AdmissionDecision, reject } from "../admission/decision.ts";
import { DemandCounter } from "../demand/demand-counter.ts";
import { createAdmissionMetrics } from "../ops/admission-metrics.ts";
import { NodeAdmission } from "./node-admission.ts";
import { newRequestContext } from "./request-context.ts";

const rules = { trustedProxies: new BlockList(), hopKey: () => undefined, now: () => 0 };
const ctx = () =>
  newRequestContext({ target: "/", method: "GET", authority: "h", headers: {}, peer: "::1" }, rules);

function nodeAdmission() {
  const registry = new Registry();
  const metrics = createAdmissionMetrics(registry, { eventLoopDelayMs: () => 0, shedPressure: () => 0 });
  const node = new NodeAdmission({
    monotonic: () => 0,
    now: () => 0,
    random: () => 0,
    load: () => ({ inFlight: 0, eventLoopDelayMs: 0 }),
    demand: new DemandCounter(),
    metrics,
  });
  const counted = async (outcome: string) => {
    const metric = await registry.getSingleMetric("corral_dp_admission_decisions_total")?.get();
    return metric?.values.find((v) => v.labels.stage === "shed" && v.labels.outcome === outcome)?.value ?? 0;
  };
  return { node, counted };
}

test("an admit keeps its headers for the response and its release for the end", async () => {
  const { node, counted } = nodeAdmission();
  let released = 0;
  const decision: AdmissionDecision = {
    admit: true,
    headers: { ratelimit: "limit=10" },
    release: () => released++,
  };
  const c = ctx();
  assert.equal(node.stage("shed", () => decision).run(c), undefined);
  assert.deepEqual(c.responseHeaders, { ratelimit: "limit=10" });
  for (const fn of c.onFinish) fn(200, "ok");
  assert.equal(released, 1);
  assert.equal(await counted("admit"), 1);
});

test("a rejection stops the request as the limiter made it: one type from the catalogue", async () => {
  const { node, counted } = nodeAdmission();
  const decision = reject("quota", "tenant rate exhausted", { retryAfterS: 2 });
  const c = ctx();
  assert.deepEqual(node.stage("shed", () => decision).run(c), {
    code: "CORRAL_DP_QUOTA",
    detail: "tenant rate exhausted",
    headers: { "retry-after": "2" },
  });
  assert.deepEqual([c.responseHeaders, c.onFinish.length], [{}, 0]);
  assert.equal(await counted("reject"), 1);
});

test("a shadowed admit is counted as a shadow rejection and lets the request go on", async () => {
  const { node, counted } = nodeAdmission();
  assert.equal(node.stage("shed", () => ({ admit: true, shadowed: ["shed"] })).run(ctx()), undefined);
  assert.equal(await counted("shadow_reject"), 1);
});
