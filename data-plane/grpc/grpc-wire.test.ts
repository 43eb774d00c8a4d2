import assert from "node:assert/strict";
import { constants } from "node:http2";
import { test } from "node:test";
import fc from "fast-check";
import { GRPC_STATUS } from "../../proto/grpc-status.ts";
import { parseGrpcTimeout } from "../admission/deadline.ts";
import {
  encodeGrpcMessage,
  encodeGrpcTimeout,
  grpcCodeForHttpStatus,
  grpcCodeForReset,
  grpcCodeName,
  httpEquivalent,
  isGrpcContentType,
} from "./grpc-wire.ts";

test("grpc-timeout: milliseconds rounded down, microseconds under 1 ms, coarser units past 8 digits", () => {
  const cases: [number, string][] = [
    [250, "250m"],
    [250.9, "250m"],
    [1, "1m"],
    [0.5, "500u"],
    [0.0001, "1u"],
    [99_999_999, "99999999m"],
    [100_000_000, "100000S"],
    [99_999_999_000 * 60, "99999999M"],
    [Number.MAX_SAFE_INTEGER, "99999999H"],
  ];
  for (const [ms, text] of cases) assert.equal(encodeGrpcTimeout(ms), text, `${ms} ms`);
});

test("grpc-timeout: what we send parses back to at most the time left, and never far less", () => {
  fc.assert(
    fc.property(fc.double({ min: 0.001, max: 1e12, noNaN: true }), (ms) => {
      const back = parseGrpcTimeout(encodeGrpcTimeout(ms));
      assert.ok(back !== undefined, "valid grpc-timeout");
      assert.ok(back <= ms + 1e-9, `${back} <= ${ms}`);
      // rounding down loses at most one unit of the chosen precision
      assert.ok(back >= Math.min(ms * 0.999, ms - 1), `${back} close to ${ms}`);
    }),
  );
});

test("grpc-message percent-encodes non-printable bytes and % (UTF-8)", () => {
  assert.equal(encodeGrpcMessage("plain text: ok"), "plain text: ok");
  assert.equal(encodeGrpcMessage("100%"), "100%25");
  assert.equal(encodeGrpcMessage("line\nbreak"), "line%0Abreak");
  assert.equal(encodeGrpcMessage("café"), "caf%C3%A9");
  fc.assert(
    fc.property(fc.string({ unit: "grapheme" }), (s) => {
      const encoded = encodeGrpcMessage(s);
      assert.match(encoded, /^[\x20-\x7e]*$/);
      assert.equal(decodeURIComponent(encoded), s);
    }),
  );
});

test("status mappings: HTTP answers, resets, names and HTTP equivalents", () => {
  assert.equal(grpcCodeForHttpStatus(404), GRPC_STATUS.UNIMPLEMENTED);
  assert.equal(grpcCodeForHttpStatus(503), GRPC_STATUS.UNAVAILABLE);
  assert.equal(grpcCodeForHttpStatus(401), GRPC_STATUS.UNAUTHENTICATED);
  assert.equal(grpcCodeForHttpStatus(418), GRPC_STATUS.UNKNOWN);
  assert.equal(grpcCodeForReset(constants.NGHTTP2_CANCEL), GRPC_STATUS.CANCELLED);
  assert.equal(grpcCodeForReset(constants.NGHTTP2_REFUSED_STREAM), GRPC_STATUS.UNAVAILABLE);
  assert.equal(grpcCodeForReset(constants.NGHTTP2_ENHANCE_YOUR_CALM), GRPC_STATUS.RESOURCE_EXHAUSTED);
  assert.equal(grpcCodeForReset(constants.NGHTTP2_PROTOCOL_ERROR), GRPC_STATUS.INTERNAL);
  assert.equal(grpcCodeName(0), "ok");
  assert.equal(grpcCodeName(16), "unauthenticated");
  assert.equal(grpcCodeName(17), "unknown_code");
  assert.deepEqual([0, 1, 4, 7, 8, 14, 16, 99].map(httpEquivalent), [200, 499, 504, 403, 429, 503, 401, 500]);
});

test("gRPC content types", () => {
  for (const yes of [
    "application/grpc",
    "application/grpc+proto",
    "application/grpc;charset=utf-8",
    "APPLICATION/GRPC",
  ])
    assert.ok(isGrpcContentType(yes), yes);
  for (const no of ["application/grpc-web", "application/json", "", undefined, ["application/grpc"]])
    assert.ok(!isGrpcContentType(no), String(no));
});
