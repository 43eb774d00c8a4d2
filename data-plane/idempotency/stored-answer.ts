/**
 * The first answer to an idempotent request as the record keeps it (pure): status, the headers
 * the client saw from the upstream (already without hop-by-hop and corral-* headers) and the
 * body. Read back defensively: Redis is external input, so anything malformed is no answer.
 */
import type { HeaderMap } from "../pipeline/forward-headers.ts";

export interface StoredAnswer {
  status: number;
  headers: HeaderMap;
  body: Buffer;
}

const MAX_HEADERS = 200;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]{1,256}$/;

export function encodeHeaders(headers: HeaderMap): string {
  return JSON.stringify(headers);
}

function headerValue(v: unknown): string | string[] | undefined {
  if (typeof v === "string") return v;
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
  return undefined;
}

export function decodeAnswer(status: string, headers: string, body: Buffer): StoredAnswer | undefined {
  const code = Number(status);
  if (!(Number.isInteger(code) && code >= 200 && code <= 599)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(headers);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const entries = Object.entries(parsed);
  if (entries.length > MAX_HEADERS) return undefined;
  const out: HeaderMap = {};
  for (const [name, v] of entries) {
    const value = headerValue(v);
    if (!HEADER_NAME.test(name) || value === undefined) return undefined;
    out[name] = value;
  }
  return { status: code, headers: out, body };
}
