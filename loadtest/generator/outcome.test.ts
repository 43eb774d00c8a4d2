import assert from "node:assert/strict";
import { test } from "node:test";
import { classifyError, classifyGrpc, classifyHttp } from "./outcome.ts";

test("http outcomes: ok, corral-reason, or the status", () => {
  assert.equal(classifyHttp(200, undefined), "ok");
  assert.equal(classifyHttp(304, undefined), "ok");
  assert.equal(classifyHttp(429, "quota"), "quota");
  assert.equal(classifyHttp(503, ["shed", "x"]), "shed");
  assert.equal(classifyHttp(502, undefined), "http_502");
  assert.equal(classifyHttp(500, "Weird Reason!"), "weird_reason_");
  assert.equal(classifyHttp(500, "x".repeat(100)).length, 40);
});

test("errors without a response are labelled by code", () => {
  assert.equal(classifyError(Object.assign(new Error("t"), { code: "UND_ERR_HEADERS_TIMEOUT" })), "timeout");
  assert.equal(classifyError(Object.assign(new Error("r"), { code: "ECONNREFUSED" })), "econnrefused");
  assert.equal(classifyError(new Error("plain")), "error");
  assert.equal(classifyError(undefined), "error");
});

test("grpc outcomes", () => {
  assert.equal(classifyGrpc(0, undefined), "ok");
  assert.equal(classifyGrpc(8, "quota"), "quota");
  assert.equal(classifyGrpc(14, undefined), "grpc_unavailable");
  assert.equal(classifyGrpc(99, undefined), "grpc_99");
});
