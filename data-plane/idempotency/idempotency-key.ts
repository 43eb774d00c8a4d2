/**
 * Which requests the gateway makes idempotent, and the names it keeps them under (pure).
 *
 * A request is idempotent-by-key when its route opts in (Route.idempotency), its method is POST
 * or PATCH (the others are idempotent by definition or not worth storing) and it carries one
 * Idempotency-Key header. The key is the tenant's: the record is named by SHA-256 over the
 * tenant id and the key, so tenants never share a record and no tenant-controlled string ever
 * becomes part of a Redis key. The fingerprint (method, path and query, SHA-256 of the body)
 * tells a retry from another request that reuses the key.
 */
import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { isIdempotencyKey, MAX_IDEMPOTENCY_KEY_LENGTH } from "../../proto/idempotency-key.ts";

export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(["POST", "PATCH"]);
export const RECORD_PREFIX = "corral:idem:";

export type IdempotencyAsk =
  | { kind: "none" }
  | { kind: "invalid"; detail: string }
  | { kind: "keyed"; key: string };

const NONE: IdempotencyAsk = Object.freeze({ kind: "none" });

export function idempotencyAsk(
  optedIn: boolean,
  method: string,
  headers: IncomingHttpHeaders,
): IdempotencyAsk {
  const header = headers["idempotency-key"];
  if (!optedIn || !IDEMPOTENT_METHODS.has(method) || header === undefined) return NONE;
  if (Array.isArray(header)) return { kind: "invalid", detail: "send one Idempotency-Key header" };
  if (!isIdempotencyKey(header))
    return {
      kind: "invalid",
      detail: `Idempotency-Key must be 1-${MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters`,
    };
  return { kind: "keyed", key: header };
}

/** The Redis names of a tenant's key: the record, and its in-flight lease (same hash slot). */
export function recordKeys(tenantId: string, key: string): { record: string; lease: string } {
  // length-prefixed: no (tenant, key) pair can spell another's
  const digest = createHash("sha256").update(`${tenantId.length}:${tenantId}:${key}`).digest("hex");
  const record = `${RECORD_PREFIX}{${digest}}`;
  return { record, lease: `${record}:lease` };
}

/** What a retry must repeat exactly: method, path and query, body. */
export function fingerprint(method: string, url: string, body: Buffer): string {
  const bodyHash = createHash("sha256").update(body).digest("hex");
  return createHash("sha256").update(`${method}\n${url}\n${bodyHash}`).digest("hex");
}
