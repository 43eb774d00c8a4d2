import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { MessageMeter } from "./message-meter.ts";

function frame(payload: Uint8Array, declared = payload.length): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(declared, 1);
  return Buffer.concat([prefix, payload]);
}

/** Cuts bytes at the given positions (sorted, deduplicated, inside the buffer). */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  return chunks;
}

test("counts messages however the stream is cut, and lets messages up to the limit through", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      (payloads, cuts) => {
        const meter = new MessageMeter(300);
        const stream = Buffer.concat(payloads.map((p) => frame(p)));
        for (const chunk of cut(stream, cuts)) assert.deepEqual(meter.feed(chunk), { ok: true });
        assert.equal(meter.messages, payloads.length);
      },
    ),
  );
});

test("refuses the first message declared larger than the limit, wherever its prefix is cut", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 5 }),
      fc.integer({ min: 101, max: 2 ** 32 - 1 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      (before, declared, cuts) => {
        const meter = new MessageMeter(100);
        const stream = Buffer.concat([...before.map((p) => frame(p)), frame(new Uint8Array(0), declared)]);
        const results = cut(stream, cuts).map((c) => meter.feed(c));
        const refused = results.filter((r) => !r.ok);
        assert.deepEqual(refused, [{ ok: false, declaredBytes: declared }]);
        assert.equal(meter.messages, before.length + 1);
      },
    ),
  );
});

test("an empty chunk changes nothing; a length of exactly the limit is fine", () => {
  const meter = new MessageMeter(4);
  assert.deepEqual(meter.feed(new Uint8Array(0)), { ok: true });
  assert.deepEqual(meter.feed(frame(new Uint8Array(4))), { ok: true });
  assert.deepEqual(meter.feed(frame(new Uint8Array(0), 5)), { ok: false, declaredBytes: 5 });
});
