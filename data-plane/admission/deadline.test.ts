import assert from "node:assert/strict";
import { test } from "node:test";
import { REQUEST_ERRORS } from "../errors.ts";
import { isAdmit } from "./decision.ts";
import { badTimeout, checkDeadline, parseGrpcTimeout, parseTimeoutHeaders } from "./deadline.ts";
import { LatencyWindow, RouteLatency } from "./latency-tracker.ts";

test("grpc-timeout parsing table", () => {
  const table: [string, number | undefined][] = [
    ["1H", 3_600_000],
    ["2M", 120_000],
    ["3S", 3000],
    ["250m", 250],
    ["1500u", 1.5],
    ["2000000n", 2],
    ["0m", 0],
    ["99999999m", 99_999_999],
    ["123456789m", undefined],
    ["", undefined],
    ["m", undefined],
    ["10", undefined],
    ["10s", undefined],
    ["10h", undefined],
    ["-5m", undefined],
    ["+5m", undefined],
    ["1.5S", undefined],
    [" 5m", undefined],
    ["5m ", undefined],
    ["5 m", undefined],
    ["５m", undefined],
    ["0x10m", undefined],
  ];
  for (const [value, ms] of table) assert.equal(parseGrpcTimeout(value), ms, JSON.stringify(value));
});

test("corral-timeout-ms, both headers, clamping and errors", () => {
  assert.deepEqual(parseTimeoutHeaders({}), { ok: true, timeoutMs: undefined });
  assert.deepEqual(parseTimeoutHeaders({ corralTimeoutMs: "250" }), { ok: true, timeoutMs: 250 });
  assert.deepEqual(parseTimeoutHeaders({ corralTimeoutMs: "900", grpcTimeout: "1S" }), {
    ok: true,
    timeoutMs: 900,
  });
  assert.deepEqual(parseTimeoutHeaders({ grpcTimeout: "99999999H" }, 30_000), {
    ok: true,
    timeoutMs: 30_000,
  });
  for (const corralTimeoutMs of ["", "-1", "1.5", "abc", "123456789", "1e3"]) {
    const parsed = parseTimeoutHeaders({ corralTimeoutMs });
    assert.equal(parsed.ok, false, corralTimeoutMs);
    if (!parsed.ok) assert.equal(parsed.header, "corral-timeout-ms");
  }
  const bad = parseTimeoutHeaders({ grpcTimeout: "soon", corralTimeoutMs: "100" });
  assert.ok(!bad.ok);
  const decision = badTimeout(bad);
  assert.ok(!isAdmit(decision));
  assert.equal(decision.code, "CORRAL_DP_BAD_REQUEST");
  assert.deepEqual([REQUEST_ERRORS[decision.code].status, REQUEST_ERRORS[decision.code].grpc], [400, 3]);
  assert.match(decision.detail ?? "", /grpc-timeout/);
});

test("a request that cannot finish in its remaining time is rejected at once", () => {
  const denied = checkDeadline(5, 50);
  assert.ok(!isAdmit(denied));
  assert.equal(denied.code, "CORRAL_DP_DEADLINE_EXCEEDED");
  const spec = REQUEST_ERRORS[denied.code];
  assert.deepEqual([spec.status, spec.grpc, spec.reason], [504, 4, "deadline"]);
  assert.equal(denied.headers?.["retry-after"], undefined);
  assert.equal(isAdmit(checkDeadline(0, 0)), false, "an expired deadline is refused even with no estimate");
  assert.equal(isAdmit(checkDeadline(-3, 1)), false);
  assert.equal(isAdmit(checkDeadline(50, 50)), true);
  assert.equal(isAdmit(checkDeadline(51, 50)), true);
});

test("latency window: median of recent samples, after enough samples, ignoring old ones", () => {
  const window = new LatencyWindow({ size: 5, maxAgeMs: 1000, minSamples: 3 });
  window.record(10, 0);
  window.record(50, 0);
  assert.equal(window.estimate(0), undefined, "too few samples");
  window.record(30, 500);
  assert.equal(window.estimate(600), 30);
  assert.equal(window.estimate(1200), undefined, "the first two are too old");
  for (const ms of [1, 2, 3, 100, 200]) window.record(ms, 1300);
  assert.equal(window.estimate(1300), 3, "only the last `size` samples count");
  window.record(Number.NaN, 1300);
  window.record(-1, 1300);
  assert.equal(window.estimate(1300), 3, "nonsense samples are ignored");
});

test("route latency: expected time is the recent median, never below the floor", () => {
  const routes = new RouteLatency({ floorMs: 2, minSamples: 3, maxRoutes: 2 });
  assert.equal(routes.expectedMs("slow", 0), 2);
  for (let i = 0; i < 5; i++) routes.record("slow", 50, i);
  assert.equal(routes.expectedMs("slow", 10), 50);
  assert.equal(isAdmit(checkDeadline(5, routes.expectedMs("slow", 10))), false);
  routes.record("b", 1, 0);
  routes.record("c", 1, 0);
  assert.equal(routes.expectedMs("slow", 10), 2, "the oldest route is forgotten past maxRoutes");
});
