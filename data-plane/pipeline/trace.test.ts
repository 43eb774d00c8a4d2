import assert from "node:assert/strict";
import { test } from "node:test";
import { TraceIds } from "../../runtime/trace-context.ts";
import type { RequestContext } from "./stage.ts";
import { TRACE_ID_HEADER, traceStage } from "./trace.ts";

function ctx(headers: Record<string, string> = {}): RequestContext {
  return {
    method: "GET",
    host: "a.example.com",
    path: "/",
    url: "/",
    headers,
    remoteAddress: "127.0.0.1",
    proto: "http",
    receivedAt: 0,
    responseHeaders: {},
    onFinish: [],
  };
}

/** ids from a counter: predictable, never all zero */
function countingIds(): TraceIds {
  let n = 1;
  return new TraceIds((buf) => {
    for (let i = 0; i < buf.length; i++) buf[i] = n++ & 0xff || 1;
  }, 64);
}

const PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

test("export off: a valid traceparent continues its trace under a new span id, answered in corral-trace-id", () => {
  const stage = traceStage(undefined, countingIds());
  const c = ctx({ traceparent: PARENT, tracestate: "vendor=abc" });
  assert.equal(stage.run(c), undefined);
  assert.equal(c.trace?.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  assert.match(c.trace?.spanId ?? "", /^[0-9a-f]{16}$/);
  assert.notEqual(c.trace?.spanId, "00f067aa0ba902b7");
  assert.equal(c.trace?.sampled, true);
  assert.equal(c.trace?.tracestate, "vendor=abc");
  assert.equal(c.responseHeaders[TRACE_ID_HEADER], c.trace?.traceId);
  assert.equal(c.onFinish.length, 0, "no span, nothing to end");
});

test("export off: absent or malformed traceparent starts a new, unsampled trace; each request its own ids", () => {
  const stage = traceStage(undefined, countingIds());
  const a = ctx();
  const b = ctx({ traceparent: PARENT.toUpperCase(), tracestate: "vendor=abc" });
  stage.run(a);
  stage.run(b);
  assert.notEqual(a.trace?.traceId, b.trace?.traceId);
  assert.notEqual(b.trace?.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  assert.equal(b.trace?.sampled, false);
  assert.equal(b.trace?.tracestate, undefined, "a tracestate without its traceparent is dropped");
});
