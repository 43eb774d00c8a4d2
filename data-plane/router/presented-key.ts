/**
 * Identifies a tenant by API key (pure): the presented key is hashed (SHA-256, as stored), the
 * hash looked up, and the stored hash compared in constant time. Only keys with scope invoke
 * are indexed, so a manage-only key is as unknown here as a made-up one.
 */
import { hashApiKey, hashesEqual, MAX_KEY_LENGTH } from "../../proto/api-key.ts";

export interface KeyEntry<T> {
  readonly keyId: string;
  readonly hashHex: string;
  readonly tenant: T;
}

export class KeyIndex<T> {
  private readonly byHash = new Map<string, KeyEntry<T>>();

  get size(): number {
    return this.byHash.size;
  }

  add(keyId: string, hashHex: string, tenant: T): void {
    this.byHash.set(hashHex, { keyId, hashHex, tenant });
  }

  identify(presented: string | undefined): KeyEntry<T> | undefined {
    if (!presented || presented.length > MAX_KEY_LENGTH) return undefined;
    const hash = hashApiKey(presented);
    const entry = this.byHash.get(hash.toString("hex"));
    if (!entry || !hashesEqual(hash, Buffer.from(entry.hashHex, "hex"))) return undefined;
    return entry;
  }
}

/** The key a request presents: `x-api-key`, else `Authorization: Bearer <key>`. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const apiKey = headers["x-api-key"];
  if (typeof apiKey === "string" && apiKey !== "") return apiKey.trim();
  const auth = headers.authorization;
  if (typeof auth === "string" && /^bearer /i.test(auth)) return auth.slice(7).trim() || undefined;
  return undefined;
}
