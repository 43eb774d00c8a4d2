/**
 * Validation of configuration input, shared by every API: JSON schemas (service/resource-schemas.ts)
 * compiled with the options the HTTP server's fastify uses (no coercion, defaults filled in, no
 * stripping of unknown members), the checks a schema cannot express, and the one shape of a
 * validation error: CORRAL_ADMIN_VALIDATION naming each offending field. Pure.
 */
import { isIdempotencyKey } from "../../proto/idempotency-key.ts";
import { Ajv } from "ajv";
import { normalizeAllowList } from "../../proto/egress-policy.ts";
import { CorralError } from "../errors.ts";
import type { NewUpstream } from "../store/upstreams.ts";

export interface ValidationIssue {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** At most this many issues are reported (allErrors is on; bodies are bounded anyway). */
const MAX_ISSUES = 20;

export function invalid(path: string, message: string): CorralError {
  return new CorralError("CORRAL_ADMIN_VALIDATION", `${path} ${message}`, { errors: [{ path, message }] });
}

/** One error for schema issues found in `where` (body, params, querystring, ...). */
export function validationError(issues: readonly ValidationIssue[], where: string): CorralError {
  const errors = issues.slice(0, MAX_ISSUES).map((v) => {
    const extra = v.params?.additionalProperty ? ` (${String(v.params.additionalProperty)})` : "";
    return { path: `${where}${v.instancePath ?? ""}`, message: `${v.message ?? "is invalid"}${extra}` };
  });
  const detail = errors.map((e) => `${e.path} ${e.message}`).join("; ") || "request is not valid";
  return new CorralError("CORRAL_ADMIN_VALIDATION", detail, { errors });
}

const ajv = new Ajv({
  removeAdditional: false,
  coerceTypes: false,
  useDefaults: true,
  allErrors: true,
  strict: false,
});

/**
 * A checker for one schema: returns a validated copy of the input with defaults filled in
 * (the input itself is never changed), or throws the validation error.
 */
export function compileInput<T>(schema: object, where = "body"): (input: unknown) => T {
  const validate = ajv.compile(schema);
  return (input) => {
    const copy = structuredClone(input);
    if (!validate(copy)) throw validationError(validate.errors ?? [], where);
    return copy as T;
  };
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

/** An upstream's targets in canonical form; two that mean the same target are refused. */
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

/**
 * An upstream's body after the schema: targets in canonical form, and what the schema cannot
 * say — one weight per target, a check's timeout within its interval, the longest ejection
 * not below the first.
 */
export function normalizeUpstream<U extends NewUpstream>(body: U): U {
  const targets = normalizeTargets(body.targets);
  if (body.weights && body.weights.length !== targets.length)
    throw invalid("body/weights", `has ${body.weights.length} weights for ${targets.length} targets`);
  const hc = body.healthCheck;
  if (hc && hc.timeoutMs > hc.intervalMs) throw invalid("body/healthCheck/timeoutMs", "exceeds intervalMs");
  if (body.outlier.maxEjectionMs < body.outlier.baseEjectionMs)
    throw invalid("body/outlier/maxEjectionMs", "is below baseEjectionMs");
  return { ...body, targets };
}

/** Egress allow entries in canonical form (repeats dropped); a bad one is named by `path/<i>`. */
export function normalizeEgressAllow(entries: readonly string[], path: string): string[] {
  const out = normalizeAllowList(entries);
  if (typeof out[0] === "number") throw invalid(`${path}/${out[0]}`, out[1] as string);
  return out as string[];
}

/** An idempotency key (Idempotency-Key header, gRPC client_token): 1-255 visible ASCII characters. */
export function checkIdempotencyKey(key: string, path: string): string {
  if (!isIdempotencyKey(key)) {
    throw invalid(path, "must be 1-255 visible ASCII characters");
  }
  return key;
}
