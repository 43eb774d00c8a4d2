import assert from "node:assert/strict";
import { test } from "node:test";
import { REQUEST_ERRORS } from "../errors.ts";
import { ADMISSION_CODES, reject, retryAfterSeconds } from "./decision.ts";

test("every admission reason is a catalogue rejection (status, gRPC status and corral-reason from the entry)", () => {
  for (const [reason, code] of Object.entries(ADMISSION_CODES)) {
    const rejection = reject(reason as keyof typeof ADMISSION_CODES, "why");
    assert.deepEqual(rejection, { code, detail: "why", headers: {} });
    assert.ok(REQUEST_ERRORS[code]);
  }
  assert.deepEqual(
    [reject("quota", "").code, reject("shed", "").code, reject("deadline", "").code].map(
      (code) => REQUEST_ERRORS[code].status,
    ),
    [429, 503, 504],
  );
});

test("a rejection keeps the code, the message and the extra headers, with Retry-After", () => {
  const rejection = reject("quota", "tenant acme is over its rate limit", {
    retryAfterS: 3,
    headers: { ratelimit: '"default";r=0;t=3' },
  });
  assert.deepEqual(rejection, {
    code: "CORRAL_DP_QUOTA",
    detail: "tenant acme is over its rate limit",
    headers: { ratelimit: '"default";r=0;t=3', "retry-after": "3" },
  });
});

test("Retry-After is whole seconds, at least one", () => {
  assert.deepEqual([0, 1, 999, 1000, 1001].map(retryAfterSeconds), [1, 1, 1, 1, 2]);
});
