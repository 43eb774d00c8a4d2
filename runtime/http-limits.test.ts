import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "./env-config.ts";
import {
  DEFAULT_HTTP_LIMITS,
  fastifyHttpLimits,
  HTTP_LIMITS_SCHEMA,
  httpLimits,
  SourceCounter,
} from "./http-limits.ts";

test("a source is admitted up to the cap, and again once one of its connections closes", () => {
  const counter = new SourceCounter(2);
  assert.equal(counter.admit("a"), true);
  assert.equal(counter.admit("a"), true);
  assert.equal(counter.admit("a"), false);
  assert.equal(counter.admit("b"), true, "other sources have their own count");
  assert.deepEqual([counter.busiest(), counter.refused], [2, 1]);
  counter.release("a");
  assert.equal(counter.admit("a"), true);
  counter.release("a");
  counter.release("a");
  counter.release("b");
  assert.equal(counter.sources, 0, "sources without connections are forgotten");
  assert.equal(counter.busiest(), 0);
});

test("fastify gets the timeouts, and node checks them at a tenth of the headers timeout (100 ms to 1 s)", () => {
  const limits = httpLimits(loadConfig(HTTP_LIMITS_SCHEMA, { CORRAL_REQUEST_TIMEOUT_MS: "2000" }));
  assert.deepEqual(fastifyHttpLimits(limits, { maxHeaderSize: 1024 }), {
    requestTimeout: 2000,
    keepAliveTimeout: 30_000,
    maxRequestsPerSocket: 10_000,
    http: { maxHeaderSize: 1024, headersTimeout: 2000, connectionsCheckingInterval: 200 },
  });
  assert.equal(fastifyHttpLimits(DEFAULT_HTTP_LIMITS).http.connectionsCheckingInterval, 1000);
});
