/**
 * Classifies one request's result into an outcome label: "ok", the platform's
 * `corral-reason` (quota, shed, deadline, …), or a transport-level label. Pure.
 * Labels are bounded: reasons are truncated and restricted to [a-z0-9_].
 */
export const OK = "ok";
export const DROPPED = "dropped";
export const UNFINISHED = "unfinished";

function cleanReason(reason: string): string {
  return reason
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, "_")
    .slice(0, 40);
}

export function classifyHttp(status: number, corralReason: string | string[] | undefined): string {
  if (status >= 200 && status < 400) return OK;
  const reason = Array.isArray(corralReason) ? corralReason[0] : corralReason;
  return reason ? cleanReason(reason) : `http_${status}`;
}

const TIMEOUT_CODES = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "UND_ERR_CONNECT_TIMEOUT"]);

/** A request that failed without a response: connection refused, reset, timeout, … */
export function classifyError(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && TIMEOUT_CODES.has(code)) return "timeout";
  if (typeof code === "string" && code !== "") return cleanReason(code);
  return "error";
}

const GRPC_NAMES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
];

export function classifyGrpc(code: number, corralReason: string | undefined): string {
  if (code === 0) return OK;
  if (corralReason) return cleanReason(corralReason);
  return `grpc_${(GRPC_NAMES[code] ?? String(code)).toLowerCase()}`;
}
