import assert from "node:assert/strict";
import test from "node:test";
import fc from "fast-check";
import {
  formatTraceparent,
  outgoingTraceHeaders,
  parseTraceparent,
  TRACESTATE_MAX_LENGTH,
  TraceIds,
  validTracestate,
} from "./trace-context.ts";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";

test("a valid traceparent parses; the sampled flag is bit 0 of the flags", () => {
  assert.deepEqual(parseTraceparent(`00-${TRACE}-${SPAN}-01`), {
    traceId: TRACE,
    parentId: SPAN,
    sampled: true,
  });
  assert.equal(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.sampled, false);
  assert.equal(parseTraceparent(`00-${TRACE}-${SPAN}-03`)?.sampled, true);
  // a later version may append fields: the first four are read
  assert.equal(parseTraceparent(`01-${TRACE}-${SPAN}-01-what-comes-next`)?.traceId, TRACE);
});

test("a malformed traceparent is refused (the node then starts a new trace)", () => {
  for (const bad of [
    undefined,
    "",
    `00-${TRACE}-${SPAN}-1`,
    `00-${TRACE.toUpperCase()}-${SPAN}-01`, // upper case
    `ff-${TRACE}-${SPAN}-01`, // version ff is invalid
    `00-${"0".repeat(32)}-${SPAN}-01`, // all-zero trace id
    `00-${TRACE}-${"0".repeat(16)}-01`, // all-zero parent id
    `00-${TRACE}-${SPAN}-01-extra`, // version 00 is exactly 55 characters
    `01-${TRACE}-${SPAN}-01x`, // a later version's extra fields start with "-"
    `00_${TRACE}_${SPAN}_01`,
    ` 00-${TRACE}-${SPAN}-01`,
    `00-${TRACE}-${SPAN}-0g`,
    `00-${TRACE}-${SPAN}-01`.padEnd(100_000, "x"),
  ])
    assert.equal(parseTraceparent(bad), undefined, String(bad).slice(0, 80));
  // repeated headers are malformed
  assert.equal(parseTraceparent([`00-${TRACE}-${SPAN}-01`, `00-${TRACE}-${SPAN}-01`]), undefined);
});

test("property: whatever parses formats back to the same header (version 00)", () => {
  const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
  fc.assert(
    fc.property(hex(32), hex(16), fc.boolean(), (traceId, spanId, sampled) => {
      const header = formatTraceparent(traceId, spanId, sampled);
      const parsed = parseTraceparent(header);
      if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return parsed === undefined;
      return (
        parsed !== undefined && formatTraceparent(parsed.traceId, parsed.parentId, parsed.sampled) === header
      );
    }),
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 80 }), (raw) => {
      const parsed = parseTraceparent(raw);
      return parsed === undefined || /^[0-9a-f]{32}$/.test(parsed.traceId);
    }),
  );
});

test("tracestate: valid lists pass on, invalid or oversized ones are dropped", () => {
  assert.equal(
    validTracestate("congo=t61rcWkgMzE, rojo=00f067aa0ba902b7"),
    "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
  );
  assert.equal(validTracestate(["a=1", "tenant@vendor=x"]), "a=1,tenant@vendor=x");
  assert.equal(validTracestate("a=1,,b=2"), "a=1,b=2"); // empty members are allowed
  assert.equal(validTracestate(undefined), undefined);
  assert.equal(validTracestate("a=1,a=2"), undefined); // duplicate key
  assert.equal(validTracestate("A=1"), undefined); // upper-case key
  assert.equal(validTracestate("a=x=y"), undefined); // "=" in a value
  assert.equal(validTracestate("a=1\nb=2"), undefined);
  assert.equal(validTracestate(""), undefined);
  const many = Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(",");
  assert.equal(validTracestate(many), undefined); // more than 32 members
  const long = `a=${"x".repeat(TRACESTATE_MAX_LENGTH)}`;
  assert.equal(validTracestate(long), undefined); // longer than 512
});

test("outgoing headers name the hop's own span as the parent and carry the tracestate", () => {
  assert.deepEqual(outgoingTraceHeaders({ traceId: TRACE, spanId: SPAN, sampled: true, tracestate: "a=1" }), {
    traceparent: `00-${TRACE}-${SPAN}-01`,
    tracestate: "a=1",
  });
  assert.deepEqual(outgoingTraceHeaders({ traceId: TRACE, spanId: SPAN, sampled: false }), {
    traceparent: `00-${TRACE}-${SPAN}-00`,
  });
});

test("ids come from the injected random bytes, drawn in blocks, never all zero", () => {
  let draws = 0;
  let next = 0;
  const ids = new TraceIds((buf) => {
    draws++;
    for (let i = 0; i < buf.length; i++) buf[i] = next++ % 3 === 0 ? 0 : 0xab;
  }, 64);
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const t = ids.traceId();
    const s = ids.spanId();
    assert.match(t, /^[0-9a-f]{32}$/);
    assert.match(s, /^[0-9a-f]{16}$/);
    seen.add(s);
  }
  assert.ok(draws > 1 && draws < 20, `drawn in blocks: ${draws}`);
  const zeros = new TraceIds((buf) => {
    buf.fill(draws++ === 0 ? 0 : 1);
  }, 16);
  draws = 0;
  assert.equal(zeros.traceId(), "01".repeat(16)); // the all-zero draw is skipped
});
