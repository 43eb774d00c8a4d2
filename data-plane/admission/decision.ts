/**
 * What every admission stage returns. A rejection carries everything the transport needs to
 * answer: HTTP status, gRPC status code, `corral-reason`, a stable error code, and headers.
 */
import { type Rejection, REQUEST_ERRORS, type RequestErrorCode } from "../errors.ts";

export type AdmissionReason = "quota" | "shed" | "deadline" | "concurrency" | "bad_timeout" | "client_rate";
export type Priority = "batch" | "standard" | "critical";

export type Admit = {
  admit: true;
  /** response headers to add (e.g. RateLimit, RateLimit-Policy) */
  headers?: Record<string, string>;
  /** call exactly once when the request ends (concurrency slots); safe to call twice */
  release?: () => void;
  /** limiters in shadow mode that would have rejected this request */
  shadowed?: AdmissionReason[];
};

export type Reject = {
  admit: false;
  status: number;
  grpcStatus: number;
  reason: AdmissionReason;
  code: RequestErrorCode;
  message: string;
  retryAfterS?: number;
  /** includes corral-reason and, where set, retry-after */
  headers: Record<string, string>;
};

export type AdmissionDecision = Admit | Reject;

/** Each admission reason's entry in the data plane's error catalogue (../errors.ts). */
export const ADMISSION_CODES = Object.freeze({
  quota: "CORRAL_DP_QUOTA",
  concurrency: "CORRAL_DP_QUOTA",
  shed: "CORRAL_DP_SHED",
  deadline: "CORRAL_DP_DEADLINE_EXCEEDED",
  bad_timeout: "CORRAL_DP_BAD_REQUEST",
  client_rate: "CORRAL_DP_CLIENT_RATE",
} as const satisfies Record<AdmissionReason, RequestErrorCode>);

/**
 * A rejection for `reason`: status, gRPC status and corral-reason come from the catalogue entry
 * (concurrency shares CORRAL_DP_QUOTA, corral-reason `quota`); `reason` keeps the finer cause.
 */
export function reject(
  reason: AdmissionReason,
  message: string,
  extra: { retryAfterS?: number; headers?: Record<string, string> } = {},
): Reject {
  const code = ADMISSION_CODES[reason];
  const { status, grpc } = REQUEST_ERRORS[code];
  const headers: Record<string, string> = { ...extra.headers, "corral-reason": REQUEST_ERRORS[code].reason };
  if (extra.retryAfterS !== undefined) headers["retry-after"] = String(extra.retryAfterS);
  const decision: Reject = { admit: false, status, grpcStatus: grpc, reason, code, message, headers };
  if (extra.retryAfterS !== undefined) decision.retryAfterS = extra.retryAfterS;
  return decision;
}

/** The same rejection in the ingress pipeline's terms (catalogue code, detail, extra headers). */
export function toRejection(decision: Reject): Rejection {
  const { "corral-reason": _reason, ...headers } = decision.headers;
  return { code: decision.code, detail: decision.message, headers };
}

export const ADMIT: Admit = Object.freeze({ admit: true }) as Admit;

/** Admit, noting that a limiter in shadow mode would have rejected. */
export function admitShadowed(reason: AdmissionReason): Admit {
  return { admit: true, shadowed: [reason] };
}

/** Whole seconds for Retry-After: at least 1, rounded up. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** Limiter switches from config: shadow counts would-be rejections but admits; disabled skips. */
export type LimiterMode = { shadow?: boolean; disabled?: boolean };

export function combineModes(a: LimiterMode | undefined, b: LimiterMode | undefined): Required<LimiterMode> {
  return {
    shadow: a?.shadow === true || b?.shadow === true,
    disabled: a?.disabled === true || b?.disabled === true,
  };
}
