import assert from "node:assert/strict";
import { test } from "node:test";
import { reject } from "../errors.ts";
import {
  clientGrpcHeaders,
  peerGrpcHeaders,
  rejectionTrailers,
  upstreamGrpcHeaders,
} from "./grpc-headers.ts";

test("upstream metadata: credentials and a client's corral-tenant dropped, pseudo-headers rebuilt, deadline replaced", () => {
  const out = upstreamGrpcHeaders(
    {
      ":method": "POST",
      ":scheme": "http",
      ":authority": "dp.example:7600",
      ":path": "/pkg.Svc/Call",
      "content-type": "application/grpc",
      te: "trailers",
      "x-api-key": "ck_secret",
      authorization: "Bearer ck_secret",
      "corral-tenant": "someone-else",
      "grpc-timeout": "10S",
      "x-custom": "kept",
      "x-bin-bin": "AAE=",
    },
    {
      tenantId: "acme",
      clientIp: "10.0.0.9",
      origin: "http://10.1.1.1:9000",
      path: "/pkg.Svc/Call",
      remainingMs: 1234.5,
    },
  );
  assert.deepEqual(out, {
    ":method": "POST",
    ":scheme": "http",
    ":authority": "10.1.1.1:9000",
    ":path": "/pkg.Svc/Call",
    "content-type": "application/grpc",
    te: "trailers",
    "grpc-timeout": "1234m",
    "x-custom": "kept",
    "x-bin-bin": "AAE=",
    "corral-tenant": "acme",
    "x-forwarded-for": "10.0.0.9",
    "x-forwarded-proto": "http",
    "x-forwarded-host": "dp.example:7600",
    forwarded: 'for=10.0.0.9;proto=http;host="dp.example:7600"',
  });
});

test("without a client deadline the upstream gets none", () => {
  const out = upstreamGrpcHeaders(
    { ":path": "/a.B/C", "grpc-timeout": "5S" },
    { tenantId: "t", clientIp: "", origin: "http://h:1", path: "/a.B/C", remainingMs: undefined },
  );
  assert.equal(out["grpc-timeout"], undefined);
});

test("client headers and trailers lose pseudo and hop-by-hop headers only", () => {
  assert.deepEqual(
    clientGrpcHeaders({
      ":status": "200",
      "content-type": "application/grpc",
      connection: "close",
      "grpc-status": "0",
      "x-trailer": "v",
    }),
    { "content-type": "application/grpc", "grpc-status": "0", "x-trailer": "v" },
  );
});

test("a rejection is a trailers-only response with status, encoded message, reason and its headers", () => {
  const out = rejectionTrailers(reject("CORRAL_DP_QUOTA", "100% used", { "Retry-After": "2" }), {
    RateLimit: "limit=10",
  });
  assert.deepEqual(out, {
    ratelimit: "limit=10",
    "retry-after": "2",
    ":status": 200,
    "content-type": "application/grpc",
    "grpc-status": "8",
    "grpc-message": "CORRAL_DP_QUOTA: 100%25 used",
    "corral-reason": "quota",
  });
});

test("peer metadata: the call as it came (key, authority, path), hop marked and signed, time left", () => {
  const out = peerGrpcHeaders(
    {
      ":method": "POST",
      ":scheme": "http",
      ":authority": "api.example:7600",
      ":path": "/pkg.Svc/Call",
      "content-type": "application/grpc",
      te: "trailers",
      "x-api-key": "ck_secret",
      "corral-tenant": "someone-else",
      "corral-forwarded-by": "forged",
      "corral-timeout-ms": "99999",
      "grpc-timeout": "10S",
      "x-forwarded-for": "10.9.9.9",
      "x-bin-bin": "AAE=",
    },
    { selfSlot: "dp-3", hop: "for=10.0.0.9;exp=1;sig=00", remainingMs: 987.6 },
  );
  assert.deepEqual(out, {
    ":method": "POST",
    ":scheme": "http",
    ":authority": "api.example:7600",
    ":path": "/pkg.Svc/Call",
    "content-type": "application/grpc",
    te: "trailers",
    "x-api-key": "ck_secret",
    "x-bin-bin": "AAE=",
    "corral-forwarded-by": "dp-3",
    "corral-hop": "for=10.0.0.9;exp=1;sig=00",
    "grpc-timeout": "987m",
  });
});
