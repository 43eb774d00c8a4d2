/**
 * Where a caller presents its credential, the same rule on both planes (data-plane ingress,
 * tenant REST and gRPC APIs; the admin API takes the Bearer form only). Pure.
 *
 *  1. `x-api-key`: one value, surrounding whitespace trimmed. If it is empty after that (or the
 *     header is absent or repeated as a list), the key comes from `Authorization` instead.
 *  2. `Authorization: Bearer <credential>`: the scheme in any case, one or more spaces, one
 *     credential without whitespace, optional trailing whitespace. Anything else (another
 *     scheme, no credential, two words) presents nothing.
 *  3. The credential chosen must be 1 to `maxLength` characters; a longer one presents nothing
 *     (it is never compared, and never falls back to the other header).
 */
import { MAX_KEY_LENGTH } from "./api-key.ts";

export type HeaderValues = Readonly<Record<string, string | string[] | undefined>>;

const BEARER = /^Bearer[ ]+(\S+)\s*$/i;

/** The API key of a request's headers (lower-case names), or undefined when it presents none. */
export function presentedKey(headers: HeaderValues, maxLength = MAX_KEY_LENGTH): string | undefined {
  const apiKey = headers["x-api-key"];
  const fromHeader = typeof apiKey === "string" ? apiKey.trim() : "";
  if (fromHeader !== "") return bounded(fromHeader, maxLength);
  return bearerCredential(headers.authorization, maxLength);
}

/** The credential of an `Authorization: Bearer` header, or undefined. */
export function bearerCredential(
  authorization: string | string[] | undefined,
  maxLength: number,
): string | undefined {
  if (typeof authorization !== "string") return undefined;
  const credential = BEARER.exec(authorization)?.[1];
  return credential === undefined ? undefined : bounded(credential, maxLength);
}

function bounded(credential: string, maxLength: number): string | undefined {
  return credential.length <= maxLength ? credential : undefined;
}
