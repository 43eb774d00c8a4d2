import assert from "node:assert/strict";
import { test } from "node:test";
import { DENY_ALL_EXCEPTIONS } from "../../proto/egress-policy.ts";
import type { PlainRoute, PlainUpstream } from "../model/plain-config.ts";
import { DEFAULT_OUTLIER } from "../../proto/upstream-policy.ts";
import { type CompiledRoute, normalizeHost, TenantRoutes, upstreamPath } from "./route-table.ts";

const upstream: PlainUpstream = {
  id: "u1",
  name: "api",
  targets: [],
  connectTimeoutMs: 1000,
  targetKeys: [],
  outlier: DEFAULT_OUTLIER,
  healthCheck: undefined,
};

function route(id: string, pathPrefix: string, more: Partial<PlainRoute> = {}): CompiledRoute {
  return {
    id,
    hosts: [],
    pathPrefix,
    methods: [],
    upstreamId: "u1",
    timeoutMs: 1000,
    protocol: "http",
    public: false,
    limits: undefined,
    idempotency: false,
    retries: 0,
    retryStatuses: [],
    stripPrefix: false,
    websocket: false,
    websocketIdleTimeoutMs: 300_000,
    websocketMaxConnections: 1000,
    websocketMaxMessageBytes: 1 << 20,
    streamIdleTimeoutMs: 60_000,
    clientRate: 0,
    clientBurst: 0,
    ...more,
    tenantId: "t",
    upstream,
    egress: DENY_ALL_EXCEPTIONS,
  };
}

const table = new TenantRoutes([
  route("root", "/"),
  route("api", "/api"),
  route("api-v1", "/api/v1"),
  route("api-v1-get", "/api/v1", { methods: ["GET"] }),
  route("users-host", "/users", { hosts: ["api.example.com"] }),
  route("users-host-post", "/users", { hosts: ["api.example.com"], methods: ["POST"] }),
  route("admin-post", "/admin", { methods: ["POST", "PUT"] }),
]);

const cases: [string, string, string, string | undefined][] = [
  // [method, host, path, expected route id]
  ["GET", "", "/", "root"],
  ["GET", "", "/other", "root"],
  ["GET", "", "/api", "api"],
  ["GET", "", "/api/", "api"],
  ["GET", "", "/api/x/y", "api"],
  ["GET", "", "/apix", "root"], // segment boundary: /api does not match /apix
  ["GET", "", "/api/v1", "api-v1-get"], // method-specific route wins at the same prefix
  ["POST", "", "/api/v1", "api-v1"],
  ["DELETE", "", "/api/v1/items/7", "api-v1"], // longest prefix
  ["GET", "", "/api/v10", "api"], // segment boundary again
  ["GET", "api.example.com", "/users/1", "users-host"],
  ["POST", "api.example.com", "/users", "users-host-post"],
  ["GET", "other.example.com", "/users/1", "root"], // host mismatch falls back to a shorter prefix
  ["GET", "", "/admin", "root"], // method mismatch falls back too
  ["PUT", "", "/admin/x", "admin-post"],
  ["GET", "", "relative", undefined],
  ["GET", "", "", undefined],
];

for (const [method, host, path, expected] of cases) {
  test(`${method} ${host || "*"} ${JSON.stringify(path)} -> ${expected ?? "no route"}`, () => {
    assert.equal(table.match(host, path, method)?.id, expected);
  });
}

test("without a root route, unmatched paths find nothing", () => {
  const t = new TenantRoutes([route("a", "/a")]);
  assert.equal(t.match("", "/b", "GET"), undefined);
  assert.equal(t.match("", "/", "GET"), undefined);
  assert.equal(t.match("", "/a//b", "GET")?.id, "a");
  assert.equal(t.size, 1);
});

test("hosts are compared lower case and without the port", () => {
  assert.equal(normalizeHost("API.Example.com:8443"), "api.example.com");
  assert.equal(normalizeHost("[::1]:8080"), "[::1]");
  assert.equal(normalizeHost("[::1]"), "[::1]");
  assert.equal(normalizeHost(undefined), "");
  assert.equal(table.match(normalizeHost("API.EXAMPLE.COM:443"), "/users", "GET")?.id, "users-host");
});

test("upstream path keeps or strips the prefix and adds the target's base path", () => {
  const plain = route("p", "/api");
  const strip = route("s", "/api", { stripPrefix: true });
  assert.equal(upstreamPath(plain, "", "/api/x?q=1"), "/api/x?q=1");
  assert.equal(upstreamPath(strip, "", "/api/x?q=1"), "/x?q=1");
  assert.equal(upstreamPath(strip, "", "/api"), "/");
  assert.equal(upstreamPath(strip, "", "/api?q"), "/?q");
  assert.equal(upstreamPath(strip, "/base", "/api/x"), "/base/x");
  assert.equal(upstreamPath(route("r", "/", { stripPrefix: true }), "", "/x"), "/x");
});

test("only routes of the request's protocol match: a gRPC call falls back past longer HTTP prefixes", () => {
  const mixed = new TenantRoutes([
    route("grpc-all", "/", { protocol: "grpc" }),
    route("grpc-echo", "/demo.Echo", { protocol: "grpc" }),
    route("http-api", "/demo.Echo/Echo"),
  ]);
  assert.equal(mixed.match("", "/demo.Echo/Echo", "POST", "grpc")?.id, "grpc-echo");
  assert.equal(mixed.match("", "/other.Svc/Call", "POST", "grpc")?.id, "grpc-all");
  assert.equal(mixed.match("", "/demo.Echo/Echo", "POST")?.id, "http-api");
  assert.equal(mixed.match("", "/demo.Echo/Other", "POST", "http"), undefined);
});
