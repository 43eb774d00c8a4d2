/**
 * The data plane's one error catalogue. Request errors become problem+json responses with a
 * `corral-reason` header (and, for gRPC, the matching status); config errors travel in Nacks,
 * /status and the apply-failure metric. Codes are stable: never rename one, add a new one.
 */
import { CodedError } from "../proto/coded-error.ts";
import { GRPC_STATUS } from "../proto/grpc-status.ts";
import type { SnapshotErrorCode } from "../proto/snapshot-errors.ts";

export interface RequestErrorSpec {
  status: number;
  grpc: number;
  /** value of the corral-reason header: short, stable, bounded (also a metric label) */
  reason: string;
  title: string;
}

export const REQUEST_ERRORS = {
  CORRAL_DP_NOT_READY: {
    status: 503,
    grpc: GRPC_STATUS.UNAVAILABLE,
    reason: "not_ready",
    title: "This node has no configuration yet",
  },
  CORRAL_DP_UNAUTHORIZED: {
    status: 401,
    grpc: GRPC_STATUS.UNAUTHENTICATED,
    reason: "unauthorized",
    title: "Missing or unknown API key",
  },
  CORRAL_DP_TENANT_SUSPENDED: {
    status: 403,
    grpc: GRPC_STATUS.PERMISSION_DENIED,
    reason: "suspended",
    title: "The tenant is suspended",
  },
  CORRAL_DP_NO_ROUTE: {
    status: 404,
    grpc: GRPC_STATUS.UNIMPLEMENTED,
    reason: "no_route",
    title: "No route of this tenant matches the request",
  },
  CORRAL_DP_BAD_REQUEST: {
    status: 400,
    grpc: GRPC_STATUS.INVALID_ARGUMENT,
    reason: "bad_request",
    title: "The request is malformed",
  },
  CORRAL_DP_BAD_PATH: {
    status: 400,
    grpc: GRPC_STATUS.INVALID_ARGUMENT,
    reason: "bad_path",
    title: "The request path is ambiguous (dot segments, encoded slashes, double encoding...)",
  },
  CORRAL_DP_REQUEST_TIMEOUT: {
    status: 408,
    grpc: GRPC_STATUS.DEADLINE_EXCEEDED,
    reason: "request_timeout",
    title: "The request's headers or body did not arrive in time",
  },
  CORRAL_DP_PAYLOAD_TOO_LARGE: {
    status: 413,
    grpc: GRPC_STATUS.RESOURCE_EXHAUSTED,
    reason: "payload_too_large",
    title: "The request body is larger than this node accepts",
  },
  CORRAL_DP_HEADERS_TOO_LARGE: {
    status: 431,
    grpc: GRPC_STATUS.RESOURCE_EXHAUSTED,
    reason: "headers_too_large",
    title: "The request headers are larger than this node accepts",
  },
  CORRAL_DP_DEADLINE_EXCEEDED: {
    status: 504,
    grpc: GRPC_STATUS.DEADLINE_EXCEEDED,
    reason: "deadline",
    title: "The request cannot finish within its deadline",
  },
  CORRAL_DP_SHED: {
    status: 503,
    grpc: GRPC_STATUS.UNAVAILABLE,
    reason: "shed",
    title: "The node is overloaded; retry later",
  },
  CORRAL_DP_QUOTA: {
    status: 429,
    grpc: GRPC_STATUS.RESOURCE_EXHAUSTED,
    reason: "quota",
    title: "The tenant's rate, concurrency or period quota is exhausted",
  },
  CORRAL_DP_CLIENT_RATE: {
    status: 429,
    grpc: GRPC_STATUS.RESOURCE_EXHAUSTED,
    reason: "client_rate",
    title: "This client address is over the public route's per-client limit",
  },
  CORRAL_DP_IDEMPOTENCY_KEY_INVALID: {
    status: 400,
    grpc: GRPC_STATUS.INVALID_ARGUMENT,
    reason: "bad_idempotency_key",
    title: "The Idempotency-Key header is repeated, empty, too long or not visible ASCII",
  },
  CORRAL_DP_IDEMPOTENCY_IN_FLIGHT: {
    status: 409,
    grpc: GRPC_STATUS.ABORTED,
    reason: "idempotency_in_flight",
    title: "A request with this Idempotency-Key is still running; retry later",
  },
  CORRAL_DP_IDEMPOTENCY_MISMATCH: {
    status: 422,
    grpc: GRPC_STATUS.INVALID_ARGUMENT,
    reason: "idempotency_mismatch",
    title: "This Idempotency-Key was first used with a different method, path or body",
  },
  CORRAL_DP_IDEMPOTENCY_SPENT: {
    status: 409,
    grpc: GRPC_STATUS.FAILED_PRECONDITION,
    reason: "idempotency_spent",
    title: "This Idempotency-Key was used but its answer cannot be replayed; it is not run again",
  },
  CORRAL_DP_IDEMPOTENCY_UNAVAILABLE: {
    status: 503,
    grpc: GRPC_STATUS.UNAVAILABLE,
    reason: "idempotency_unavailable",
    title: "The idempotency store is unreachable; the request was not run",
  },
  CORRAL_DP_MISDIRECTED: {
    status: 421,
    grpc: GRPC_STATUS.UNAVAILABLE,
    reason: "misdirected",
    title: "This node does not serve the tenant; send the request to a member of its shard",
  },
  CORRAL_DP_SHARD_UNAVAILABLE: {
    status: 503,
    grpc: GRPC_STATUS.UNAVAILABLE,
    reason: "shard_unavailable",
    title: "No member of the tenant's shard is available",
  },
  CORRAL_DP_UNKNOWN_TENANT: {
    status: 404,
    grpc: GRPC_STATUS.NOT_FOUND,
    reason: "unknown_tenant",
    title: "The API key does not belong to this tenant",
  },
  CORRAL_DP_UPSTREAM_ERROR: {
    status: 502,
    grpc: GRPC_STATUS.UNAVAILABLE,
    reason: "upstream_error",
    title: "The upstream could not be reached",
  },
  CORRAL_DP_CIRCUIT_OPEN: {
    status: 503,
    grpc: GRPC_STATUS.UNAVAILABLE,
    reason: "circuit_open",
    title: "Every target of the upstream is ejected as unhealthy; retry later",
  },
  CORRAL_DP_EGRESS_DENIED: {
    status: 502,
    grpc: GRPC_STATUS.PERMISSION_DENIED,
    reason: "egress_denied",
    title: "The upstream is an internal address the egress policy refuses",
  },
  CORRAL_DP_UPSTREAM_TIMEOUT: {
    status: 504,
    grpc: GRPC_STATUS.DEADLINE_EXCEEDED,
    reason: "upstream_timeout",
    title: "The upstream did not answer within the route's timeout",
  },
  CORRAL_DP_NOT_WEBSOCKET: {
    status: 400,
    grpc: GRPC_STATUS.INVALID_ARGUMENT,
    reason: "not_websocket",
    title: "The route does not accept WebSocket upgrades (or the handshake is malformed)",
  },
  CORRAL_DP_WEBSOCKET_CAPACITY: {
    status: 503,
    grpc: GRPC_STATUS.UNAVAILABLE,
    reason: "websocket_capacity",
    title: "This node holds as many WebSockets as it accepts; retry later",
  },
  CORRAL_DP_INTERNAL: {
    status: 500,
    grpc: GRPC_STATUS.INTERNAL,
    reason: "internal",
    title: "The node failed to handle the request",
  },
} as const satisfies Record<string, RequestErrorSpec>;

export type RequestErrorCode = keyof typeof REQUEST_ERRORS;

/** What a pipeline stage returns to stop a request. */
export interface Rejection {
  code: RequestErrorCode;
  detail?: string;
  /** extra response headers, e.g. Retry-After, RateLimit */
  headers?: Record<string, string>;
  /** extension members of the problem body (RFC 9457 §3.2), e.g. the shard of a 421 */
  extensions?: Record<string, unknown>;
}

export function reject(code: RequestErrorCode, detail?: string, headers?: Record<string, string>): Rejection {
  return { code, detail, headers };
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: RequestErrorCode;
}

/** RFC 9457 body for a rejection; extension members never replace the standard ones. */
export function problemBody(rejection: Rejection): ProblemBody {
  const spec = REQUEST_ERRORS[rejection.code];
  return {
    ...rejection.extensions,
    type: `urn:corral:error:${rejection.code}`,
    title: spec.title,
    status: spec.status,
    detail: rejection.detail ?? spec.title,
    code: rejection.code,
  };
}

// ---- config apply errors ---------------------------------------------------------

export const CONFIG_ERRORS = {
  CORRAL_DP_CONFIG_FETCH: "the blob store could not be read (unreachable, missing object, bad response)",
  CORRAL_DP_CONFIG_NO_CACHE: "there is no snapshot in the local disk cache",
  CORRAL_DP_CONFIG_POINTER: "the LATEST pointer is malformed",
  CORRAL_DP_CONFIG_BAD_ANNOUNCE: "an Announce names a key that does not belong to its version",
  CORRAL_DP_CONFIG_SHA_MISMATCH: "the blob's SHA-256 differs from the announced one",
  CORRAL_DP_CONFIG_VERSION_REGRESSION: "the blob's version is lower than the version this node serves",
  CORRAL_DP_CONFIG_VERSION_CONFLICT: "the blob has the version this node serves but different content",
  CORRAL_DP_CONFIG_INVALID:
    "the snapshot's content fails validation (a reference does not resolve, a bad value)",
  CORRAL_DP_CONFIG_WORKER: "the snapshot worker crashed or timed out",
  CORRAL_DP_CONFIG_CACHE_WRITE: "the applied snapshot could not be written to the disk cache",
  CORRAL_DP_CONFIG_CLOSED: "the node is shutting down",
  CORRAL_DP_CONFIG_INTERNAL: "an unexpected error while applying (a bug: see the log)",
} as const;

export type ConfigErrorCode = keyof typeof CONFIG_ERRORS | SnapshotErrorCode;

export class ConfigApplyError extends CodedError<ConfigErrorCode> {}

export interface ErrorInfo {
  code: string;
  message: string;
}

/** Any thrown value as {code, message}; codes that are not ours become CORRAL_DP_CONFIG_INTERNAL. */
export function configErrorInfo(err: unknown): ErrorInfo {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === "string" ? e.message : String(err);
  const code =
    typeof e?.code === "string" && /^CORRAL_(DP_CONFIG|SNAPSHOT)_[A-Z_]+$/.test(e.code)
      ? e.code
      : "CORRAL_DP_CONFIG_INTERNAL";
  return { code, message };
}
