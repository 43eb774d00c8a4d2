import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { GrpcAnswerCapture, isOneMessage } from "./grpc-answer.ts";

const frame = (payload: Buffer) => {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(payload.length, 1);
  return Buffer.concat([prefix, payload]);
};

test("a keyed request is exactly one length-prefixed message", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 1, maxLength: 64 }), (a, b) => {
      const one = frame(Buffer.from(a));
      assert.equal(isOneMessage(one), true);
      assert.equal(isOneMessage(Buffer.concat([one, frame(Buffer.from(b))])), false, "two messages");
      assert.equal(isOneMessage(one.subarray(0, one.length - 1)), false, "cut short");
      assert.equal(isOneMessage(Buffer.concat([one, Buffer.from(b)])), false, "trailing bytes");
    }),
  );
  assert.equal(isOneMessage(Buffer.alloc(0)), false, "no message");
  assert.equal(isOneMessage(Buffer.alloc(4)), false, "no full prefix");
});

test("the capture is an answer only once the far end's status came", () => {
  const unsent = new GrpcAnswerCapture(100);
  assert.deepEqual(unsent.finish(), { state: "unknown" });
  assert.equal(unsent.wasSent, false);

  const cut = new GrpcAnswerCapture(100);
  cut.sent();
  cut.head({ "content-type": "application/grpc" }, false);
  cut.data(Buffer.from("abc"));
  assert.deepEqual(cut.finish(), { state: "unknown" }, "no trailers: it may have run, no answer");

  const whole = new GrpcAnswerCapture(100);
  whole.sent();
  whole.head({ "x-initial": "first" }, false);
  whole.data(Buffer.from("ab"));
  whole.data(Buffer.from("c"));
  whole.trailers({ "grpc-status": "0" });
  assert.deepEqual(whole.finish(), {
    state: "done",
    status: 200,
    headers: { "x-initial": "first" },
    body: Buffer.from("abc"),
    trailers: { "grpc-status": "0" },
  });

  const only = new GrpcAnswerCapture(100);
  only.sent();
  only.head({ "grpc-status": "5" }, true);
  assert.deepEqual(only.finish(), {
    state: "done",
    status: 200,
    headers: { "grpc-status": "5" },
    body: Buffer.alloc(0),
    trailers: {},
  });

  const big = new GrpcAnswerCapture(4);
  big.sent();
  big.head({}, false);
  big.data(Buffer.from("abc"));
  big.data(Buffer.from("de"));
  big.trailers({ "grpc-status": "0" });
  assert.deepEqual(big.finish(), { state: "too_large" });
});
