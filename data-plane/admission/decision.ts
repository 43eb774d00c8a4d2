/**
 * What every admission stage returns: an Admit, or the data plane's one Rejection (../errors.ts),
 * the same type every pipeline stage stops a request with. A rejection carries its catalogue
 * code (status, gRPC status and `corral-reason` come from the catalogue entry), the detail and
 * the extra headers (Retry-After, RateLimit...).
 */
import { type Rejection, type RequestErrorCode, reject as catalogueRejection } from "../errors.ts";

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

export type AdmissionDecision = Admit | Rejection;

export function isAdmit(decision: AdmissionDecision): decision is Admit {
  return "admit" in decision;
}

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
 * The catalogue rejection for `reason` (concurrency shares CORRAL_DP_QUOTA, corral-reason
 * `quota`; the detail says which limit), with Retry-After when `retryAfterS` is set.
 */
export function reject(
  reason: AdmissionReason,
  message: string,
  extra: { retryAfterS?: number; headers?: Record<string, string> } = {},
): Rejection {
  const headers: Record<string, string> = { ...extra.headers };
  if (extra.retryAfterS !== undefined) headers["retry-after"] = String(extra.retryAfterS);
  return catalogueRejection(ADMISSION_CODES[reason], message, headers);
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
