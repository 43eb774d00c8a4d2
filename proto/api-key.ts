/**
 * Tenant API keys: `crl_<12 hex id>_<43 base64url secret>` (256 random bits).
 * Only SHA-256(key) is stored (CP) and published (snapshot). Keys carry 256 bits of
 * entropy, so a fast hash is enough; a slow KDF would only slow every request.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const KEY_RE = /^crl_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;
export const MAX_KEY_LENGTH = 128;

export interface NewApiKey {
  id: string;
  key: string;
  hash: Buffer;
}

export function generateApiKey(): NewApiKey {
  const id = randomBytes(6).toString("hex");
  const key = `crl_${id}_${randomBytes(32).toString("base64url")}`;
  return { id, key, hash: hashApiKey(key) };
}

export function hashApiKey(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}

/** The key id embedded in a well-formed key, or undefined for anything malformed. */
export function apiKeyId(key: string): string | undefined {
  if (key.length > MAX_KEY_LENGTH) return undefined;
  return KEY_RE.exec(key)?.[1];
}

/** Constant-time comparison of two hashes (false on length mismatch). */
export function hashesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
