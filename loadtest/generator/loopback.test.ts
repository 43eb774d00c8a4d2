import assert from "node:assert/strict";
import { test } from "node:test";
import { assertLoopbackAddress, assertLoopbackUrl, isLoopbackHost } from "./loopback.ts";

test("loopback hosts are accepted", () => {
  for (const host of ["127.0.0.1", "127.255.0.9", "localhost", "LOCALHOST", "::1", "[::1]"])
    assert.equal(isLoopbackHost(host), true, host);
  assert.equal(assertLoopbackUrl("http://127.0.0.1:8080/x").port, "8080");
  assert.equal(assertLoopbackUrl("http://[::1]:80/").hostname, "[::1]");
  assert.equal(assertLoopbackAddress("localhost:50051"), "localhost:50051");
  assert.equal(assertLoopbackAddress("[::1]:50051"), "[::1]:50051");
});

test("non-loopback targets are refused with a clear error", () => {
  const cases = [
    () => assertLoopbackUrl("http://10.0.0.1:8080/"),
    () => assertLoopbackUrl("http://example.com/"),
    () => assertLoopbackUrl("http://128.0.0.1/"),
    () => assertLoopbackUrl("http://127.0.0.1.example.com/"),
    () => assertLoopbackUrl("ftp://127.0.0.1/"),
    () => assertLoopbackUrl("not a url"),
    () => assertLoopbackAddress("10.0.0.1:50051"),
    () => assertLoopbackAddress("10.0.0.1"),
  ];
  for (const attempt of cases)
    assert.throws(attempt, (err: Error & { code?: string }) => {
      assert.equal(err.code, "CORRAL_LOADTEST_NOT_LOOPBACK");
      return true;
    });
  assert.throws(() => assertLoopbackUrl("http://10.0.0.1:8080/"), /10\.0\.0\.1 is not 127\.0\.0\.0\/8/);
});
