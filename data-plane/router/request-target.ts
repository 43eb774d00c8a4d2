/**
 * One meaning per path (docs/design.md §8.7, pure). A request target is either refused or turned into
 * ONE canonical string, which the node both matches routes against and forwards upstream, so no
 * upstream can read a path differently from the router.
 *
 * Refused (the reason is the rejection's detail):
 * - a target that is not origin-form ("/..."): absolute-form, authority-form, "*";
 * - in the raw path, any character outside RFC 3986 pchar and "/" ("\", "#", spaces, non-ASCII,
 *   "<>{}|^`[]\""), and ";" (path parameters: "/..;/admin" means /admin to some servers);
 * - a "%" not followed by two hex digits, or an escape of "/" "\" (%2F %5C) or a control
 *   character (%00-%1F, %7F);
 * - after one decoding: a "%" followed by two hex digits (double encoding: "%252e"), bytes that
 *   are not UTF-8, a "." or ".." segment, or an empty segment ("//"; a trailing "/" is fine).
 *
 * Accepted: the path decoded once and re-encoded canonically (unreserved characters, sub-delims
 * other than ";", ":", "@" and "/" as themselves, everything else as upper-case %XX of its UTF-8
 * bytes), plus the query exactly as received. Canonical targets pass again unchanged.
 */

/** A target the node serves: the canonical path, and path + query as forwarded. */
export interface RequestTarget {
  path: string;
  url: string;
}

export type TargetVerdict = RequestTarget | { refused: string };

/** pchar minus "%" and ";" (RFC 3986 §3.3), and "/": what may appear raw in a path. */
const RAW_PATH = /^[A-Za-z0-9\-._~!$&'()*+,=:@/%]*$/;
/** What stays itself in the canonical form: the same set without "%". */
const KEEP = /[A-Za-z0-9\-._~!$&'()*+,=:@/]/;
const ESCAPE = /%([0-9A-Fa-f]{2})?/g;
const DOUBLE_ENCODED = /%[0-9A-Fa-f]{2}/;

function escapeRefusal(path: string): string | undefined {
  for (const m of path.matchAll(ESCAPE)) {
    const hex = m[1];
    if (hex === undefined) return "a % not followed by two hex digits";
    const byte = Number.parseInt(hex, 16);
    if (byte === 0x2f || byte === 0x5c) return "an encoded / or \\ (%2F, %5C)";
    if (byte < 0x20 || byte === 0x7f) return "an encoded control character";
  }
  return undefined;
}

/** Scans the segments in place (no split: this runs for every request). */
function segmentRefusal(decoded: string): string | undefined {
  let start = 1;
  for (;;) {
    const slash = decoded.indexOf("/", start);
    const end = slash === -1 ? decoded.length : slash;
    const len = end - start;
    if (
      (len === 1 || len === 2) &&
      decoded.charCodeAt(start) === 46 /* . */ &&
      (len === 1 || decoded.charCodeAt(start + 1) === 46)
    )
      return "a . or .. segment";
    if (slash === -1) return undefined;
    if (len === 0) return "an empty segment (//)";
    start = slash + 1;
  }
}

function canonical(decoded: string): string {
  let out = "";
  for (const ch of decoded) {
    if (KEEP.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, "utf8")) out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function decodeOnce(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined; // not UTF-8
  }
}

/** The canonical target, or why the target is refused. */
export function requestTarget(target: string): TargetVerdict {
  if (target.charCodeAt(0) !== 47 /* / */) return { refused: "the target must be a path (origin-form)" };
  const q = target.indexOf("?");
  const path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? "" : target.slice(q);
  if (!RAW_PATH.test(path)) return { refused: "the path has a character that must be encoded, or ; or \\" };
  if (query.includes("#")) return { refused: "the target has a fragment (#)" };
  // no escape: the path decodes to itself and every character of it is canonical already
  if (!path.includes("%")) {
    const segment = segmentRefusal(path);
    return segment ? { refused: `the path has ${segment}` } : { path, url: target };
  }
  const badEscape = escapeRefusal(path);
  if (badEscape) return { refused: `the path has ${badEscape}` };
  const decoded = decodeOnce(path);
  if (decoded === undefined) return { refused: "the path's escapes are not UTF-8" };
  if (DOUBLE_ENCODED.test(decoded)) return { refused: "the path is encoded twice (%25XX)" };
  const segment = segmentRefusal(decoded);
  if (segment) return { refused: `the path has ${segment}` };
  const canon = canonical(decoded);
  return { path: canon, url: canon + query };
}

/** A request context's path fields: the canonical ones, or the raw ones and why they are refused. */
export function contextTarget(raw: string): { path: string; url: string; badPath?: string } {
  const verdict = requestTarget(raw);
  if (!("refused" in verdict)) return verdict;
  const q = raw.indexOf("?");
  return { path: q === -1 ? raw : raw.slice(0, q), url: raw, badPath: verdict.refused };
}
