import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Hello, SyncFrame } from "../../proto/gen/corral/sync/v1/sync.ts";
import { CorralError } from "../errors.ts";
import { decodeFrame, encodeFrame, helloToNode } from "./frames.ts";

const hello = (over: Partial<Hello> = {}): Hello =>
  Hello.fromPartial({
    node: "n1",
    slot: "dp-0",
    zone: "zone-a",
    version: 3,
    httpUrl: "http://127.0.0.1:7500",
    ...over,
  });

const badFrame = (err: unknown) => err instanceof CorralError && err.code === "CORRAL_SYNC_BAD_FRAME";

test("a frame round-trips and names its kind", () => {
  const decoded = decodeFrame(encodeFrame({ ack: { version: 9, applyMs: 12 } }));
  assert.equal(decoded.kind, "ack");
  assert.deepEqual(decoded.frame.ack, { version: 9, applyMs: 12 });
});

test("an empty frame and a frame with two messages are refused", () => {
  assert.throws(() => decodeFrame(new Uint8Array()), badFrame);
  const two = Buffer.concat([
    encodeFrame({ ack: { version: 1, applyMs: 0 } }),
    encodeFrame({ hello: hello() }),
  ]);
  assert.throws(() => decodeFrame(two), badFrame);
});

test("arbitrary bytes either decode to exactly one message or fail with CORRAL_SYNC_BAD_FRAME", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
      try {
        const { frame } = decodeFrame(bytes);
        return Object.values(frame).filter((v) => v !== undefined).length === 1;
      } catch (err) {
        return badFrame(err);
      }
    }),
    { seed: 20250101, numRuns: 2000 },
  );
});

test("hello fields are checked", () => {
  assert.deepEqual(helloToNode(hello()), {
    slot: "dp-0",
    zone: "zone-a",
    nodeId: "n1",
    httpUrl: "http://127.0.0.1:7500",
    grpcAddress: "",
    build: "",
    version: 3,
  });
  for (const over of [
    { slot: "" },
    { slot: "a/b" },
    { zone: "x".repeat(64) },
    { httpUrl: "ftp://x" },
    { node: "has space" },
  ]) {
    assert.throws(() => helloToNode(hello(over)), badFrame, JSON.stringify(over));
  }
  assert.equal(SyncFrame.decode(encodeFrame({ hello: hello() })).hello?.slot, "dp-0");
});
