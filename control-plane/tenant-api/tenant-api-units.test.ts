import assert from "node:assert/strict";
import { test } from "node:test";
import { CorralError } from "../errors.ts";
import { compileInput } from "../service/input-validation.ts";
import { createKeyBody } from "../service/resource-schemas.ts";
import { CallDeadline } from "./call-limits.ts";
import { asTenantError, inTenantTerms } from "./tenant-errors.ts";

test("admin codes from shared code become their tenant twins, keeping detail and extensions", () => {
  const notFound = asTenantError(
    new CorralError("CORRAL_ADMIN_NOT_FOUND", "route rt_x not found", { id: 1 }),
  );
  assert.equal(notFound.code, "CORRAL_TENANT_NOT_FOUND");
  assert.equal(notFound.message, "route rt_x not found");
  assert.deepEqual(notFound.extensions, { id: 1 });
  const mismatch = asTenantError(new CorralError("CORRAL_ADMIN_IDEMPOTENCY_MISMATCH", "Idempotency-Key ..."));
  assert.equal(mismatch.code, "CORRAL_TENANT_IDEMPOTENCY_MISMATCH");
  assert.match(mismatch.message, /client token/);
  assert.equal(mismatch.status, 422);
  const capacity = new CorralError("CORRAL_SNAPSHOT_CAPACITY_EXCEEDED");
  assert.equal(asTenantError(capacity), capacity);
});

test("inTenantTerms translates CorralErrors and passes anything else through", async () => {
  await assert.rejects(
    inTenantTerms(async () => {
      throw new CorralError("CORRAL_ADMIN_IN_USE");
    }),
    (err: CorralError) => err.code === "CORRAL_TENANT_IN_USE",
  );
  const other = new Error("boom");
  await assert.rejects(
    inTenantTerms(async () => {
      throw other;
    }),
    (err) => err === other,
  );
});

test("a call deadline: time left, checks against an injected clock, cancellation, statement timeout errors", () => {
  let now = 1_000;
  const clock = () => now;
  const limited = new CallDeadline({ deadline: 1_250 }, clock);
  assert.equal(limited.remainingMs(), 250);
  limited.check();
  now = 1_250;
  assert.throws(
    () => limited.check(),
    (err: CorralError) => err.code === "CORRAL_TENANT_DEADLINE_EXCEEDED",
  );
  assert.equal(limited.remainingMs(), 1);
  const timedOut = limited.translate(Object.assign(new Error("canceling statement"), { code: "57014" }));
  assert.equal((timedOut as CorralError).code, "CORRAL_TENANT_DEADLINE_EXCEEDED");

  const unlimited = new CallDeadline({}, clock);
  assert.equal(unlimited.remainingMs(), undefined);
  unlimited.check();
  const raw = Object.assign(new Error("canceling statement"), { code: "57014" });
  assert.equal(unlimited.translate(raw), raw, "without a deadline a cancelled statement is not ours");

  const controller = new AbortController();
  const cancellable = new CallDeadline({ signal: controller.signal }, clock);
  cancellable.check();
  controller.abort();
  assert.throws(() => cancellable.check(), /cancelled/);
});

test("compiled input checks fill defaults into a copy and leave the input untouched", () => {
  const check = compileInput<{ name: string; scopes: string[] }>(createKeyBody);
  const input = {};
  assert.deepEqual(check(input), { name: "", scopes: ["invoke"] });
  assert.deepEqual(input, {});
  assert.throws(
    () => check({ scopes: ["root"], extra: 1 }),
    (err: CorralError) =>
      err.code === "CORRAL_ADMIN_VALIDATION" &&
      (err.extensions.errors as Array<{ path: string }>).some((e) => e.path === "body/scopes/0") &&
      (err.extensions.errors as Array<{ path: string }>).some((e) => e.path === "body"),
  );
});
