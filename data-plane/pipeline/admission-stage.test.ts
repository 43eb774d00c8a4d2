import assert from "node:assert/strict";
import { test } from "node:test";
import { type AdmissionDecision, reject } from "../admission/decision.ts";
import { admissionStage } from "./admission-stage.ts";
import type { RequestContext } from "./stage.ts";

function ctx(): RequestContext {
  return {
    method: "GET",
    host: "",
    path: "/",
    url: "/",
    headers: {},
    remoteAddress: "127.0.0.1",
    proto: "http",
    receivedAt: 0,
    responseHeaders: {},
    onFinish: [],
  };
}

test("an admit keeps its headers for the response and its release for the end", () => {
  let released = 0;
  const decision: AdmissionDecision = {
    admit: true,
    headers: { ratelimit: "limit=10" },
    release: () => released++,
  };
  const c = ctx();
  assert.equal(admissionStage("limit", () => decision).run(c), undefined);
  assert.deepEqual(c.responseHeaders, { ratelimit: "limit=10" });
  for (const fn of c.onFinish) fn(200, "upstream");
  assert.equal(released, 1);
});

test("a reject becomes its catalogue rejection with the stage's headers", () => {
  const decision = reject("quota", "tenant rate exhausted", { retryAfterS: 2 });
  assert.deepEqual(admissionStage("limit", () => decision).run(ctx()), {
    code: "CORRAL_DP_QUOTA",
    detail: "tenant rate exhausted",
    headers: { "retry-after": "2" },
  });
});
