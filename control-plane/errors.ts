/**
 * The control plane's one error catalogue: every error the CP reports to a client (REST
 * problem+json, gRPC status, ws close) has a stable code here with its HTTP status, gRPC
 * status and title. control-plane/errors.md documents it; a test keeps the two in step.
 */
import { GRPC_STATUS } from "../proto/grpc-status.ts";

/** gRPC status codes by name (the shared table in proto/). */
export const GrpcStatus = GRPC_STATUS;

export interface ErrorSpec {
  http: number;
  grpc: number;
  title: string;
  /** ws close code, for errors that end a /sync/v1 connection */
  wsClose?: number;
}

const G = GrpcStatus;

// biome-ignore format: one error a line
export const ERROR_CATALOGUE = {
  CORRAL_ADMIN_VALIDATION: { http: 400, grpc: G.INVALID_ARGUMENT, title: "The request is not valid" },
  CORRAL_ADMIN_MALFORMED_JSON: { http: 400, grpc: G.INVALID_ARGUMENT, title: "The request body is not valid JSON" },
  CORRAL_ADMIN_UNAUTHENTICATED: { http: 401, grpc: G.UNAUTHENTICATED, title: "A valid operator token is required" },
  CORRAL_ADMIN_FORBIDDEN: { http: 403, grpc: G.PERMISSION_DENIED, title: "The operator's role does not allow this" },
  CORRAL_ADMIN_AUTH_THROTTLED: { http: 429, grpc: G.RESOURCE_EXHAUSTED, title: "Too many failed authentications from this address" },
  CORRAL_ADMIN_LAST_ADMIN_TOKEN: { http: 409, grpc: G.FAILED_PRECONDITION, title: "The last active admin token cannot be revoked" },
  CORRAL_ADMIN_TOO_MANY_TOKENS: { http: 409, grpc: G.RESOURCE_EXHAUSTED, title: "Too many active operator tokens" },
  CORRAL_ADMIN_EGRESS_DENIED: { http: 400, grpc: G.INVALID_ARGUMENT, title: "The upstream target is an internal address the egress policy refuses" },
  CORRAL_ADMIN_NOT_FOUND: { http: 404, grpc: G.NOT_FOUND, title: "No such resource" },
  CORRAL_ADMIN_CONFLICT: { http: 409, grpc: G.ALREADY_EXISTS, title: "The resource already exists" },
  CORRAL_ADMIN_IN_USE: { http: 409, grpc: G.FAILED_PRECONDITION, title: "The resource is still in use" },
  CORRAL_ADMIN_IDEMPOTENCY_IN_FLIGHT: { http: 409, grpc: G.ABORTED, title: "A request with this idempotency key is still in flight" },
  CORRAL_ADMIN_IDEMPOTENCY_MISMATCH: { http: 422, grpc: G.INVALID_ARGUMENT, title: "The idempotency key was used with a different request" },
  CORRAL_ADMIN_PAYLOAD_TOO_LARGE: { http: 413, grpc: G.RESOURCE_EXHAUSTED, title: "The request body is too large" },
  CORRAL_ADMIN_UNSUPPORTED_MEDIA_TYPE: { http: 415, grpc: G.INVALID_ARGUMENT, title: "The request body must be application/json" },
  CORRAL_TENANT_VALIDATION: { http: 400, grpc: G.INVALID_ARGUMENT, title: "The request is not valid" },
  CORRAL_TENANT_MALFORMED_JSON: { http: 400, grpc: G.INVALID_ARGUMENT, title: "The request body is not valid JSON" },
  CORRAL_TENANT_UNAUTHENTICATED: { http: 401, grpc: G.UNAUTHENTICATED, title: "A valid tenant API key is required" },
  CORRAL_TENANT_AUTH_THROTTLED: { http: 429, grpc: G.RESOURCE_EXHAUSTED, title: "Too many failed authentications from this address" },
  CORRAL_TENANT_FORBIDDEN: { http: 403, grpc: G.PERMISSION_DENIED, title: "The API key does not have scope manage" },
  CORRAL_TENANT_SUSPENDED: { http: 403, grpc: G.PERMISSION_DENIED, title: "The tenant is suspended" },
  CORRAL_TENANT_EGRESS_DENIED: { http: 400, grpc: G.INVALID_ARGUMENT, title: "The upstream target is an internal address the egress policy refuses" },
  CORRAL_TENANT_NOT_FOUND: { http: 404, grpc: G.NOT_FOUND, title: "No such resource" },
  CORRAL_TENANT_CONFLICT: { http: 409, grpc: G.ALREADY_EXISTS, title: "The resource already exists" },
  CORRAL_TENANT_IN_USE: { http: 409, grpc: G.FAILED_PRECONDITION, title: "The resource is still in use" },
  CORRAL_TENANT_IDEMPOTENCY_IN_FLIGHT: { http: 409, grpc: G.ABORTED, title: "A request with this idempotency key is still in flight" },
  CORRAL_TENANT_IDEMPOTENCY_MISMATCH: { http: 422, grpc: G.INVALID_ARGUMENT, title: "The idempotency key was used with a different request" },
  CORRAL_TENANT_PAYLOAD_TOO_LARGE: { http: 413, grpc: G.RESOURCE_EXHAUSTED, title: "The request body is too large" },
  CORRAL_TENANT_UNSUPPORTED_MEDIA_TYPE: { http: 415, grpc: G.INVALID_ARGUMENT, title: "The request body must be application/json" },
  CORRAL_TENANT_DEADLINE_EXCEEDED: { http: 504, grpc: G.DEADLINE_EXCEEDED, title: "The call's deadline passed before the change was made" },
  CORRAL_SNAPSHOT_CAPACITY_EXCEEDED: { http: 507, grpc: G.RESOURCE_EXHAUSTED, title: "The configuration no longer fits the snapshot capacity" },
  CORRAL_QUOTA_EXCEEDED: { http: 507, grpc: G.RESOURCE_EXHAUSTED, title: "The change would take the tenant past one of its resource quotas" },
  CORRAL_SNAPSHOT_INCONSISTENT: { http: 500, grpc: G.INTERNAL, title: "The compiled snapshot has unresolved references" },
  CORRAL_ADMIN_ROLLBACK_UNAVAILABLE: { http: 409, grpc: G.FAILED_PRECONDITION, title: "The version's stored snapshot is missing or does not verify" },
  CORRAL_ADMIN_VERSION_GONE: { http: 410, grpc: G.NOT_FOUND, title: "The version is outside the retained history" },
  CORRAL_TENANT_RATE_LIMITED: { http: 429, grpc: G.RESOURCE_EXHAUSTED, title: "Too many changes; retry after the time given" },
  CORRAL_PUBLISH_FENCED: { http: 409, grpc: G.ABORTED, title: "This replica no longer holds the publisher lease under that epoch" },
  CORRAL_CP_BLOB_UNAVAILABLE: { http: 503, grpc: G.UNAVAILABLE, title: "The blob store is unavailable" },
  CORRAL_CP_UNAVAILABLE: { http: 503, grpc: G.UNAVAILABLE, title: "The configuration database is unavailable" },
  CORRAL_CP_NOT_READY: { http: 503, grpc: G.UNAVAILABLE, title: "The control plane is not ready" },
  CORRAL_CP_INTERNAL: { http: 500, grpc: G.INTERNAL, title: "Internal error" },
  CORRAL_CP_BAD_HTTP: { http: 400, grpc: G.INVALID_ARGUMENT, title: "The request is not valid HTTP" },
  CORRAL_CP_HEADERS_TOO_LARGE: { http: 431, grpc: G.RESOURCE_EXHAUSTED, title: "The request headers are larger than the control plane accepts" },
  CORRAL_CP_REQUEST_TIMEOUT: { http: 408, grpc: G.DEADLINE_EXCEEDED, title: "The request's headers or body did not arrive in time" },
  CORRAL_SYNC_UNAUTHENTICATED: { http: 401, grpc: G.UNAUTHENTICATED, title: "A valid node credential is required" },
  CORRAL_SYNC_SLOT_MISMATCH: { http: 403, grpc: G.PERMISSION_DENIED, title: "The Hello names a slot other than the node credential's", wsClose: 1008 },
  CORRAL_SYNC_SLOT_LIMIT: { http: 403, grpc: G.RESOURCE_EXHAUSTED, title: "The fleet has as many registered slots as CORRAL_MAX_SLOTS allows", wsClose: 1008 },
  CORRAL_SYNC_FRAME_RATE: { http: 429, grpc: G.RESOURCE_EXHAUSTED, title: "The node sends frames faster than CORRAL_SYNC_MAX_FRAMES_PER_SEC allows", wsClose: 1008 },
  CORRAL_SYNC_BAD_FRAME: { http: 400, grpc: G.INVALID_ARGUMENT, title: "The sync frame is malformed", wsClose: 1007 },
  CORRAL_SYNC_FRAME_TOO_LARGE: { http: 413, grpc: G.RESOURCE_EXHAUSTED, title: "The sync frame is too large", wsClose: 1009 },
  CORRAL_SYNC_TEXT_FRAME: { http: 400, grpc: G.INVALID_ARGUMENT, title: "Sync frames must be binary", wsClose: 1003 },
  CORRAL_SYNC_PROTOCOL: { http: 400, grpc: G.FAILED_PRECONDITION, title: "The sync frame is not allowed at this point", wsClose: 1008 },
  CORRAL_SYNC_HELLO_TIMEOUT: { http: 408, grpc: G.DEADLINE_EXCEEDED, title: "No Hello within the allowed time", wsClose: 1008 },
  CORRAL_SYNC_TOO_MANY_CONNECTIONS: { http: 503, grpc: G.UNAVAILABLE, title: "The control plane has too many sync connections", wsClose: 1013 },
  CORRAL_SYNC_SHUTTING_DOWN: { http: 503, grpc: G.UNAVAILABLE, title: "The control plane is shutting down", wsClose: 1001 },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** An error with a catalogued code; anything else reaching a client is CORRAL_CP_INTERNAL. */
export class CorralError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly grpcStatus: number;
  readonly title: string;
  /** extra members of the problem document (e.g. validation details) */
  readonly extensions: Record<string, unknown>;

  constructor(code: ErrorCode, detail?: string, extensions: Record<string, unknown> = {}) {
    const spec: ErrorSpec = ERROR_CATALOGUE[code];
    super(detail ?? spec.title);
    this.name = "CorralError";
    this.code = code;
    this.status = spec.http;
    this.grpcStatus = spec.grpc;
    this.title = spec.title;
    this.extensions = extensions;
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  [extension: string]: unknown;
}

export function problemType(code: ErrorCode): string {
  return `urn:corral:error:${code}`;
}

/** RFC 9457 problem document for an error. */
export function toProblem(err: CorralError): Problem {
  return {
    ...err.extensions,
    type: problemType(err.code),
    title: err.title,
    status: err.status,
    detail: err.message,
    code: err.code,
  };
}

export function isCorralError(err: unknown): err is CorralError {
  return err instanceof CorralError;
}
