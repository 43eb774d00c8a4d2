/**
 * The load harness's error catalogue: every error it raises on bad input or a failed
 * dependency has a stable code, so scenarios and tests check errors by code.
 */
export const LOADTEST_ERRORS = {
  CORRAL_LOADTEST_NOT_LOOPBACK: "the load harness only sends to loopback addresses",
  CORRAL_LOADTEST_BAD_PLAN: "the load plan is invalid",
  CORRAL_LOADTEST_UNKNOWN_SCENARIO: "no scenario with that name",
  CORRAL_LOADTEST_BAD_PARAM: "a scenario parameter is unknown or has the wrong type",
  CORRAL_LOADTEST_BAD_SCENARIO: "a scenario file does not export a valid scenario",
  CORRAL_LOADTEST_PROCESS_START: "a helper process did not start",
  CORRAL_LOADTEST_TOXIPROXY: "the toxiproxy API refused a request",
} as const;

export type LoadtestErrorCode = keyof typeof LOADTEST_ERRORS;

export class LoadtestError extends Error {
  readonly code: LoadtestErrorCode;
  constructor(code: LoadtestErrorCode, detail: string) {
    super(`${LOADTEST_ERRORS[code]}: ${detail}`);
    this.name = "LoadtestError";
    this.code = code;
  }
}
