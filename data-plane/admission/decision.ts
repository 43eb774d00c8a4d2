/**
 * What every admission stage returns. A rejection carries everything the transport needs to
 * answer: HTTP status, gRPC status code, `corral-reason`, a stable error code, and headers.
 */
export type AdmissionReason = "quota" | "shed" | "deadline" | "concurrency" | "bad_timeout";
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
  code: string;
  message: string;
  retryAfterS?: number;
  /** includes corral-reason and, where set, retry-after */
  headers: Record<string, string>;
};

export type AdmissionDecision = Admit | Reject;

/** gRPC status codes used by admission (from grpc/status.h). */
export const GRPC_STATUS = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  UNAVAILABLE: 14,
} as const;

const REJECTIONS: Record<AdmissionReason, { status: number; grpcStatus: number; code: string }> = {
  quota: { status: 429, grpcStatus: GRPC_STATUS.RESOURCE_EXHAUSTED, code: "CORRAL_ADMISSION_QUOTA_EXCEEDED" },
  concurrency: {
    status: 429,
    grpcStatus: GRPC_STATUS.RESOURCE_EXHAUSTED,
    code: "CORRAL_ADMISSION_CONCURRENCY_EXCEEDED",
  },
  shed: { status: 503, grpcStatus: GRPC_STATUS.UNAVAILABLE, code: "CORRAL_ADMISSION_SHED" },
  deadline: {
    status: 504,
    grpcStatus: GRPC_STATUS.DEADLINE_EXCEEDED,
    code: "CORRAL_ADMISSION_DEADLINE_UNMEETABLE",
  },
  bad_timeout: {
    status: 400,
    grpcStatus: GRPC_STATUS.INVALID_ARGUMENT,
    code: "CORRAL_ADMISSION_BAD_TIMEOUT",
  },
};

/** The catalogue of admission rejections (stable codes, HTTP and gRPC status). */
export const ADMISSION_REJECTIONS: Readonly<typeof REJECTIONS> = Object.freeze(REJECTIONS);

export function reject(
  reason: AdmissionReason,
  message: string,
  extra: { retryAfterS?: number; headers?: Record<string, string> } = {},
): Reject {
  const { status, grpcStatus, code } = REJECTIONS[reason];
  const headers: Record<string, string> = { ...extra.headers, "corral-reason": reason };
  if (extra.retryAfterS !== undefined) headers["retry-after"] = String(extra.retryAfterS);
  const decision: Reject = { admit: false, status, grpcStatus, reason, code, message, headers };
  if (extra.retryAfterS !== undefined) decision.retryAfterS = extra.retryAfterS;
  return decision;
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

export function combineModes(...modes: (LimiterMode | undefined)[]): Required<LimiterMode> {
  return {
    shadow: modes.some((mode) => mode?.shadow === true),
    disabled: modes.some((mode) => mode?.disabled === true),
  };
}
