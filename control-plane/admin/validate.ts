/** Checks of admin-API input the schemas cannot express, with errors naming the offending field. Pure. */
import { checkIdempotencyKey, invalid } from "../service/input-validation.ts";

export { invalid, normalizeEgressAllow, normalizeTargets } from "../service/input-validation.ts";

/** Opaque keyset cursor: base64url of the last id of the previous page. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, "utf8").toString("base64url");
}

export function decodeCursor(cursor: string, idPattern: RegExp): string {
  const id = Buffer.from(cursor, "base64url").toString("utf8");
  if (!idPattern.test(id)) throw invalid("querystring/cursor", "is not a cursor this API issued");
  return id;
}

export function pageLimit(raw: string | undefined, fallback = 50, max = 200): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw invalid("querystring/limit", `must be from 1 to ${max}`);
  return n;
}

/** Idempotency-Key header: one value of 1-255 visible ASCII characters. */
export function idempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header)) throw invalid("headers/idempotency-key", "must be one value");
  return checkIdempotencyKey(header, "headers/idempotency-key");
}
