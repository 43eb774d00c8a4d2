/**
 * Which requests the gateway makes idempotent, and the names it keeps them under (pure).
 *
 * A request is idempotent-by-key when its route opts in (Route.idempotency), its method is POST
 * or PATCH (the others are idempotent by definition or not worth storing) and it carries one
 * Idempotency-Key header. The key is the tenant's (a keyless caller's: that client address's
 * within the tenant): the record is named by SHA-256 over the scope and the key, so tenants
 * never share a record and no tenant-controlled string ever becomes part of a Redis key. The fingerprint (method, path and query, SHA-256 of the body)
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

/**
 * The Redis names of a key: the record, and its in-flight lease (same hash slot). `caller`
 * narrows the scope below the tenant: "" for callers with the tenant's API keys (any of its keys
 * may retry), the client address for keyless callers of public routes, so one anonymous client
 * cannot read another's answers by guessing its key.
 */
export function recordKeys(tenantId: string, caller: string, key: string): { record: string; lease: string } {
  // length-prefixed: no (tenant, caller, key) can spell another's
  const scope = `${tenantId.length}:${tenantId}:${caller.length}:${caller}:${key}`;
  const digest = createHash("sha256").update(scope).digest("hex");
  const record = `${RECORD_PREFIX}{${digest}}`;
  return { record, lease: `${record}:lease` };
}

/** What a retry must repeat exactly: method, path and query, body. */
export function fingerprint(method: string, url: string, body: Buffer): string {
  const bodyHash = createHash("sha256").update(body).digest("hex");
  return createHash("sha256").update(`${method}\n${url}\n${bodyHash}`).digest("hex");
}
