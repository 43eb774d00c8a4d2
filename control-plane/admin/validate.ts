/** Checks the schema cannot express, with errors naming the offending field. Pure. */
import { CorralError } from "../errors.ts";

export function invalid(path: string, message: string): CorralError {
  return new CorralError("CORRAL_ADMIN_VALIDATION", `${path} ${message}`, { errors: [{ path, message }] });
}

function checkPort(path: string, port: string): void {
  const n = Number(port);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw invalid(path, "has a port outside 1-65535");
}

/** A base URL (http/https, no credentials, query or fragment), returned without a trailing "/". */
function checkUrlTarget(path: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid(path, "is not a valid URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw invalid(path, "must be an http or https URL");
  if (url.username || url.password) throw invalid(path, "must not carry credentials");
  if (url.search || url.hash || raw.includes("?") || raw.includes("#"))
    throw invalid(path, "must not have a query or fragment");
  if (url.port) checkPort(path, url.port);
  const base = url.pathname === "/" ? "" : url.pathname.replace(/\/+$/, "");
  return `${url.protocol}//${url.host}${base}`;
}

/** host:port (gRPC style) */
function checkHostPort(path: string, raw: string): string {
  const match = /^([A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):([0-9]{1,5})$/.exec(
    raw,
  );
  if (!match) throw invalid(path, "must be a URL like http://host:port or host:port");
  checkPort(path, match[2]!);
  return raw.toLowerCase();
}

export function normalizeTargets(targets: readonly string[]): string[] {
  const out = targets.map((t, i) => {
    const path = `body/targets/${i}`;
    return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(t) ? checkUrlTarget(path, t) : checkHostPort(path, t);
  });
  const seen = new Set<string>();
  out.forEach((t, i) => {
    if (seen.has(t)) throw invalid(`body/targets/${i}`, "repeats another target");
    seen.add(t);
  });
  return out;
}

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

/** Idempotency-Key header: 1-255 visible ASCII characters. */
export function idempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header) || !/^[\x21-\x7e]{1,255}$/.test(header)) {
    throw invalid("headers/idempotency-key", "must be one value of 1-255 visible ASCII characters");
  }
  return header;
}
