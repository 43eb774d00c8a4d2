import assert from "node:assert/strict";
import { test } from "node:test";
import { clientResponseHeaders, upstreamRequestHeaders } from "./forward-headers.ts";

const info = { tenantId: "acme", clientIp: "10.1.2.3", host: "gw.example.com", proto: "http" as const };

test("credentials, hop-by-hop headers and a client's corral-tenant never go upstream", () => {
  const out = upstreamRequestHeaders(
    {
      host: "gw.example.com",
      "x-api-key": "crl_secret",
      authorization: "Bearer crl_secret",
      "corral-tenant": "someone-else",
      connection: "keep-alive, x-private",
      "x-private": "hop",
      "keep-alive": "timeout=5",
      te: "trailers",
      upgrade: "h2c",
      "transfer-encoding": "chunked",
      expect: "100-continue",
      "content-type": "application/json",
      "content-length": "12",
      "x-custom": ["a", "b"],
    },
    info,
  );
  assert.deepEqual(out, {
    "content-type": "application/json",
    "content-length": "12",
    "x-custom": ["a", "b"],
    "x-forwarded-for": "10.1.2.3",
    "x-forwarded-proto": "http",
    "x-forwarded-host": "gw.example.com",
    "corral-tenant": "acme",
  });
});

test("x-forwarded-for is appended to", () => {
  assert.equal(
    upstreamRequestHeaders({ "x-forwarded-for": "1.1.1.1" }, info)["x-forwarded-for"],
    "1.1.1.1, 10.1.2.3",
  );
});

test("responses lose hop-by-hop headers only", () => {
  const out = clientResponseHeaders({
    "content-type": "text/plain",
    "set-cookie": ["a=1", "b=2"],
    connection: "close, x-hop",
    "x-hop": "1",
    "transfer-encoding": "chunked",
    "keep-alive": "timeout=5",
    "x-upstream": "yes",
    missing: undefined,
  });
  assert.deepEqual(out, { "content-type": "text/plain", "set-cookie": ["a=1", "b=2"], "x-upstream": "yes" });
});
