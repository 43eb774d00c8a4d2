import assert from "node:assert/strict";
import { test } from "node:test";
import { clientResponseHeaders, peerRequestHeaders, upstreamRequestHeaders } from "./forward-headers.ts";

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
    forwarded: 'for=10.1.2.3;proto=http;host="gw.example.com"',
    "corral-tenant": "acme",
  });
});

test("a client's forwarding and corral-* headers are replaced, but the inputs the node reads", () => {
  const out = upstreamRequestHeaders(
    {
      forwarded: "for=6.6.6.6",
      "x-real-ip": "6.6.6.6",
      "x-forwarded-for": "6.6.6.6",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "evil",
      "x-forwarded-port": "1",
      "x-forwarded-prefix": "/admin",
      "corral-forwarded-by": "dp-9",
      "corral-hop": "x",
      "corral-anything": "x",
      "corral-timeout-ms": "100",
      "corral-priority": "batch",
    },
    { ...info, clientIp: "::1", host: undefined },
  );
  assert.deepEqual(out, {
    "corral-timeout-ms": "100",
    "corral-priority": "batch",
    "x-forwarded-for": "::1",
    "x-forwarded-proto": "http",
    forwarded: 'for="[::1]";proto=http',
    "corral-tenant": "acme",
  });
});

test("peer forwards keep credentials, lose what only nodes say, and carry the signed hop", () => {
  const out = peerRequestHeaders(
    { host: "gw", "x-api-key": "k", "x-forwarded-for": "6.6.6.6", "corral-hop": "forged", "corral-x": "1" },
    "dp-1",
    "for=10.1.2.3;exp=1;sig=00",
  );
  assert.deepEqual(out, {
    host: "gw",
    "x-api-key": "k",
    "corral-forwarded-by": "dp-1",
    "corral-hop": "for=10.1.2.3;exp=1;sig=00",
  });
});

test("an upstream's corral-* response headers are dropped; a shard member's are its own", () => {
  const answer = { "content-type": "text/plain", "corral-reason": "quota", "corral-tenant": "b" };
  assert.deepEqual(clientResponseHeaders(answer), { "content-type": "text/plain" });
  assert.deepEqual(clientResponseHeaders(answer, true), answer);
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

test("the client's trace headers are replaced by the node's trace (its span the parent), or dropped", () => {
  const incoming = {
    traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    tracestate: "forged=1",
  };
  const trace = { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "1111111111111111", sampled: true };
  const up = upstreamRequestHeaders(incoming, { ...info, trace: { ...trace, tracestate: "vendor=abc" } });
  assert.equal(up.traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01");
  assert.equal(up.tracestate, "vendor=abc");
  const peer = peerRequestHeaders(incoming, "dp-0", "hop", trace);
  assert.equal(peer.traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01");
  assert.equal(peer.tracestate, undefined, "no valid tracestate: none sent");
  const none = upstreamRequestHeaders(incoming, info);
  assert.equal(none.traceparent, undefined);
  assert.equal(none.tracestate, undefined);
});

test("HTTP/2 pseudo-headers never cross, either way: each side builds its own", () => {
  const pseudo = {
    ":method": "POST",
    ":path": "/x",
    ":authority": "gw",
    ":scheme": "http",
    ":status": "200",
  };
  const up = upstreamRequestHeaders({ ...pseudo, "x-a": "1" } as Record<string, string>, info);
  assert.deepEqual(
    Object.keys(up).filter((n) => n.startsWith(":")),
    [],
  );
  assert.equal(up["x-a"], "1");
  const peer = peerRequestHeaders({ ...pseudo, "x-api-key": "k" } as Record<string, string>, "dp-1", "hop");
  assert.deepEqual(
    Object.keys(peer).filter((n) => n.startsWith(":")),
    [],
  );
  assert.deepEqual(clientResponseHeaders({ ...pseudo, "grpc-status": "0" }), { "grpc-status": "0" });
});
