import assert from "node:assert/strict";
import { test } from "node:test";
import { DENY_ALL_EXCEPTIONS } from "../../proto/egress-policy.ts";
import { DEFAULT_OUTLIER } from "../../proto/upstream-policy.ts";
import type { CompiledRoute } from "../router/route-table.ts";
import { Retrier, type RetryMetrics } from "./retrier.ts";

function route(retries: number, budget = { ratio: 0, floorPerSecond: 1, windowMs: 1000 }): CompiledRoute {
  return {
    id: "r",
    hosts: [],
    pathPrefix: "/",
    methods: [],
    upstreamId: "u",
    timeoutMs: 1000,
    protocol: "http",
    public: false,
    limits: undefined,
    idempotency: false,
    retries,
    retryStatuses: [503],
    stripPrefix: false,
    websocket: false,
    websocketIdleTimeoutMs: 300_000,
    websocketMaxConnections: 1000,
    websocketMaxMessageBytes: 1 << 20,
    streamIdleTimeoutMs: 60_000,
    clientRate: 0,
    clientBurst: 0,
    tenantId: "t",
    upstream: {
      id: "u",
      name: "u",
      targets: [],
      connectTimeoutMs: 1,
      retryBudget: budget,
      targetKeys: [],
      outlier: DEFAULT_OUTLIER,
      healthCheck: undefined,
    },
    egress: DENY_ALL_EXCEPTIONS,
  };
}

function counting() {
  const counts: string[] = [];
  const metrics: RetryMetrics = {
    attempt: (p) => counts.push(`attempt ${p}`),
    retry: (p, cause) => counts.push(`retry ${p} ${cause}`),
    budgetExhausted: (p) => counts.push(`exhausted ${p}`),
  };
  return { counts, retrier: new Retrier({ clock: () => 0, random: () => 0, metrics }) };
}

test("retries are counted, the tried targets kept, and the budget's refusal counted", () => {
  const { counts, retrier } = counting();
  const attempts = retrier.begin(route(3), true);
  attempts.attempt("http://a");
  assert.deepEqual(attempts.decide({ kind: "status", status: 503 }, undefined), { retry: true, delayMs: 0 });
  attempts.attempt("http://b");
  // the budget (a floor of 1 per second over 1 s, no share of requests) is spent
  assert.deepEqual(attempts.decide({ kind: "reset" }, undefined), { retry: false, why: "budget" });
  assert.deepEqual([...attempts.tried!], ["http://a", "http://b"]);
  assert.deepEqual(counts, ["attempt http", "retry http status", "attempt http", "exhausted http"]);
});

test("a route without retries, or a request that cannot be sent twice, is never retried", () => {
  const { counts, retrier } = counting();
  for (const [retries, replayable] of [
    [0, true],
    [2, false],
  ] as const) {
    const attempts = retrier.begin(route(retries), replayable);
    attempts.attempt("http://a");
    assert.equal(attempts.possible, false);
    assert.equal(attempts.decide({ kind: "connect" }, undefined).retry, false);
    assert.equal(attempts.tried, undefined);
  }
  assert.deepEqual(counts, ["attempt http", "attempt http"]);
});
