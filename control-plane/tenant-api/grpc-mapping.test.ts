import assert from "node:assert/strict";
import { test } from "node:test";
import { CorralError, GrpcStatus } from "../errors.ts";
import { STREAMING_UNSET } from "../../proto/route-streaming.ts";
import { compileInput } from "../service/input-validation.ts";
import { hashRequest } from "../service/mutations.ts";
import { createRouteBody } from "../service/resource-schemas.ts";
import {
  keyInput,
  protoFieldPath,
  routeInput,
  routeMessage,
  serviceError,
  upstreamInput,
} from "./grpc-mapping.ts";

const checkRoute = compileInput<object>(createRouteBody);
const bareRoute = {
  clientToken: "",
  pathPrefix: "/a",
  hosts: [],
  methods: [],
  upstreamId: "up_0123456789abcdef",
  limits: undefined,
  retries: undefined,
  clientLimits: undefined,
};

test("a gRPC request with absent optional fields validates to the same input (and hash) as the REST body", () => {
  const fromGrpc = checkRoute(routeInput(bareRoute));
  const fromRest = checkRoute({ pathPrefix: "/a", upstreamId: "up_0123456789abcdef" });
  assert.deepEqual(fromGrpc, fromRest);
  assert.deepEqual(hashRequest("t", "CreateRoute", fromGrpc), hashRequest("t", "CreateRoute", fromRest));
  assert.deepEqual(fromGrpc, {
    pathPrefix: "/a",
    upstreamId: "up_0123456789abcdef",
    hosts: [],
    methods: [],
    timeoutMs: 15_000,
    protocol: "http",
    stripPrefix: false,
    websocket: false,
    public: false,
    idempotency: false,
  });
});

test("fields set explicitly are kept, even when they equal a proto default", () => {
  const input = routeInput({
    ...bareRoute,
    timeoutMs: 0,
    stripPrefix: false,
    protocol: "grpc",
    limits: { rate: 1, burst: 2 },
  });
  assert.deepEqual(input, {
    pathPrefix: "/a",
    upstreamId: "up_0123456789abcdef",
    timeoutMs: 0,
    stripPrefix: false,
    protocol: "grpc",
    limits: { rate: 1, burst: 2 },
  });
  assert.deepEqual(
    upstreamInput({
      clientToken: "",
      name: "n",
      targets: ["a:1"],
      weights: [],
      healthCheck: undefined,
      outlier: undefined,
      retryBudget: undefined,
    }),
    {
      name: "n",
      targets: ["a:1"],
    },
  );
  assert.deepEqual(keyInput({ clientToken: "", name: "", scopes: [] }), { name: "" });
});

test("a route's streaming fields travel from the gRPC request to the input and back to the message", () => {
  const input = routeInput({
    ...bareRoute,
    websocket: true,
    websocketIdleTimeoutMs: 60_000,
    websocketMaxConnections: 5,
    streamIdleTimeoutMs: 30_000,
    websocketMaxMessageBytes: 4096,
  });
  assert.deepEqual(checkRoute(input), {
    ...checkRoute(routeInput(bareRoute)),
    websocket: true,
    websocketIdleTimeoutMs: 60_000,
    websocketMaxConnections: 5,
    streamIdleTimeoutMs: 30_000,
    websocketMaxMessageBytes: 4096,
  });
});

test("JSON field paths become proto field paths", () => {
  assert.equal(protoFieldPath("body/pathPrefix"), "path_prefix");
  assert.equal(protoFieldPath("body/targets/0"), "targets[0]");
  assert.equal(protoFieldPath("body/limits/rate"), "limits.rate");
  assert.equal(protoFieldPath("body"), "request");
  assert.equal(protoFieldPath("client_token"), "client_token");
});

test("an error becomes its gRPC status with the code and the problem document as trailers", () => {
  const err = new CorralError("CORRAL_TENANT_VALIDATION", "body/connectTimeoutMs must be <= 60000", {
    errors: [{ path: "body/connectTimeoutMs", message: "must be <= 60000" }],
  });
  const status = serviceError(err);
  assert.equal(status.code, 3);
  assert.equal(status.details, "connect_timeout_ms must be <= 60000");
  assert.deepEqual(status.metadata!.get("corral-code"), ["CORRAL_TENANT_VALIDATION"]);
  const problem = JSON.parse((status.metadata!.get("corral-problem-bin")[0] as Buffer).toString("utf8"));
  assert.equal(problem.status, 400);
  assert.deepEqual(problem.errors, [{ path: "connect_timeout_ms", message: "must be <= 60000" }]);
});

test("a route without a bucket has no limits message", () => {
  const route = {
    id: "rt_0123456789abcdef",
    tenantId: "t",
    pathPrefix: "/",
    hosts: [],
    methods: ["GET"],
    upstreamId: "up_0123456789abcdef",
    timeoutMs: 5,
    protocol: "http" as const,
    stripPrefix: true,
    limits: null,
    retries: { attempts: 0, statuses: [] },
    public: false,
    idempotency: false,
    clientLimits: null,
    createdAt: "2024-01-01T00:00:00.000Z",
    ...STREAMING_UNSET,
  };
  const message = routeMessage(route);
  assert.equal(message.limits, undefined);
  assert.equal("tenantId" in message, false);
  assert.deepEqual(routeMessage({ ...route, limits: { rate: 1, burst: 1 } }).limits, { rate: 1, burst: 1 });
});

test("a rate-limited change carries RESOURCE_EXHAUSTED and when to retry as metadata", () => {
  const status = serviceError(
    new CorralError("CORRAL_TENANT_RATE_LIMITED", "slow down", { retryAfterSeconds: 7 }),
  );
  assert.equal(status.code, GrpcStatus.RESOURCE_EXHAUSTED);
  assert.deepEqual(status.metadata!.get("retry-after"), ["7"]);
  assert.deepEqual(status.metadata!.get("grpc-retry-pushback-ms"), ["7000"]);
  assert.deepEqual(
    serviceError(new CorralError("CORRAL_TENANT_VALIDATION")).metadata!.get("retry-after"),
    [],
  );
});

test("an upstream's policy: absent optional fields stay absent (the schema fills them), given ones pass", () => {
  assert.deepEqual(
    upstreamInput({
      clientToken: "",
      name: "n",
      targets: ["a:1", "b:1"],
      weights: [3, 1],
      healthCheck: { protocol: "grpc", service: "shop.Cart", intervalMs: 2_000 },
      outlier: { consecutiveFailures: 2, slowStartMs: 0 },
      retryBudget: undefined,
    }),
    {
      name: "n",
      targets: ["a:1", "b:1"],
      weights: [3, 1],
      healthCheck: { protocol: "grpc", service: "shop.Cart", intervalMs: 2_000 },
      outlier: { consecutiveFailures: 2, slowStartMs: 0 },
    },
  );
  assert.equal(protoFieldPath("body/healthCheck/timeoutMs"), "health_check.timeout_ms");
  assert.equal(protoFieldPath("body/weights/1"), "weights[1]");
});
