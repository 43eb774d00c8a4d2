import assert from "node:assert/strict";
import { test } from "node:test";
import { REQUEST_ERRORS } from "../errors.ts";
import { ADMISSION_CODES, reject, retryAfterSeconds, toRejection } from "./decision.ts";

test("every admission reason maps to a catalogue entry with its status, gRPC status and corral-reason", () => {
  for (const [reason, code] of Object.entries(ADMISSION_CODES)) {
    const decision = reject(reason as keyof typeof ADMISSION_CODES, "why");
    const spec = REQUEST_ERRORS[code];
    assert.equal(decision.code, code);
    assert.equal(decision.status, spec.status);
    assert.equal(decision.grpcStatus, spec.grpc);
    assert.equal(decision.headers["corral-reason"], spec.reason);
  }
  assert.deepEqual(
    [reject("quota", "").status, reject("shed", "").status, reject("deadline", "").status],
    [429, 503, 504],
  );
});

test("toRejection keeps the code, the message and the extra headers", () => {
  const decision = reject("quota", "tenant acme is over its rate limit", {
    retryAfterS: 3,
    headers: { ratelimit: '"default";r=0;t=3' },
  });
  assert.deepEqual(toRejection(decision), {
    code: "CORRAL_DP_QUOTA",
    detail: "tenant acme is over its rate limit",
    headers: { ratelimit: '"default";r=0;t=3', "retry-after": "3" },
  });
});

test("Retry-After is whole seconds, at least one", () => {
  assert.deepEqual([0, 1, 999, 1000, 1001].map(retryAfterSeconds), [1, 1, 1, 1, 2]);
});
