/**
 * The tenant API answers with CORRAL_TENANT_* codes. The code it shares with the admin API (store,
 * config changes, idempotency, fastify body handling) throws CORRAL_ADMIN_* codes; this maps each
 * to its tenant twin, keeping detail and extensions. Codes of other areas (CP, SNAPSHOT) pass. Pure.
 */
import { CorralError, type ErrorCode } from "../errors.ts";

const TWINS: Partial<Record<ErrorCode, ErrorCode>> = {
  CORRAL_ADMIN_VALIDATION: "CORRAL_TENANT_VALIDATION",
  CORRAL_ADMIN_MALFORMED_JSON: "CORRAL_TENANT_MALFORMED_JSON",
  CORRAL_ADMIN_UNAUTHENTICATED: "CORRAL_TENANT_UNAUTHENTICATED",
  CORRAL_ADMIN_AUTH_THROTTLED: "CORRAL_TENANT_AUTH_THROTTLED",
  CORRAL_ADMIN_NOT_FOUND: "CORRAL_TENANT_NOT_FOUND",
  CORRAL_ADMIN_EGRESS_DENIED: "CORRAL_TENANT_EGRESS_DENIED",
  CORRAL_ADMIN_CONFLICT: "CORRAL_TENANT_CONFLICT",
  CORRAL_ADMIN_IN_USE: "CORRAL_TENANT_IN_USE",
  CORRAL_ADMIN_IDEMPOTENCY_IN_FLIGHT: "CORRAL_TENANT_IDEMPOTENCY_IN_FLIGHT",
  CORRAL_ADMIN_IDEMPOTENCY_MISMATCH: "CORRAL_TENANT_IDEMPOTENCY_MISMATCH",
  CORRAL_ADMIN_PAYLOAD_TOO_LARGE: "CORRAL_TENANT_PAYLOAD_TOO_LARGE",
  CORRAL_ADMIN_UNSUPPORTED_MEDIA_TYPE: "CORRAL_TENANT_UNSUPPORTED_MEDIA_TYPE",
};

/** The shared runner speaks of the REST header; the tenant API also takes gRPC client_token. */
const DETAILS: Partial<Record<ErrorCode, string>> = {
  CORRAL_TENANT_IDEMPOTENCY_IN_FLIGHT: "a request with this idempotency key (client token) is still running",
  CORRAL_TENANT_IDEMPOTENCY_MISMATCH:
    "this idempotency key (client token) was first used with a different request",
};

export function asTenantError(err: CorralError): CorralError {
  const twin = TWINS[err.code];
  if (!twin) return err;
  return new CorralError(twin, DETAILS[twin] ?? err.message, err.extensions);
}

/** Rethrows what `fn` throws as a tenant-API error. */
export async function inTenantTerms<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw err instanceof CorralError ? asTenantError(err) : err;
  }
}
