import assert from "node:assert/strict";
import { test } from "node:test";
import { REQUEST_ERRORS } from "../errors.ts";
import { ClientLimiter } from "./client-limiter.ts";
import { isAdmit } from "./decision.ts";

const LIMITS = { rate: 1, burst: 2 };
const limiter = (maxRoutes = 4) => new ClientLimiter({ slots: 8, maxRoutes, ipv6Prefix: 64 });

test("each client address has its own bucket per route; 429 client_rate with Retry-After", () => {
  const l = limiter();
  assert.ok(isAdmit(l.admit("r1", "203.0.113.1", LIMITS, 0)));
  assert.ok(isAdmit(l.admit("r1", "203.0.113.1", LIMITS, 0)));
  const refused = l.admit("r1", "203.0.113.1", LIMITS, 0);
  assert.equal(isAdmit(refused), false);
  assert.ok(!isAdmit(refused) && refused.code === "CORRAL_DP_CLIENT_RATE");
  assert.equal(REQUEST_ERRORS[refused.code].reason, "client_rate");
  assert.equal(refused.headers?.["retry-after"], "1");
  assert.ok(isAdmit(l.admit("r1", "203.0.113.2", LIMITS, 0)), "another address");
  assert.ok(isAdmit(l.admit("r2", "203.0.113.1", LIMITS, 0)), "another route");
  assert.ok(isAdmit(l.admit("r1", "203.0.113.1", LIMITS, 1000)), "refilled");
});

test("IPv6 addresses of one /64 share a bucket", () => {
  const l = limiter();
  l.admit("r", "2001:db8::1", LIMITS, 0);
  l.admit("r", "2001:db8::2", LIMITS, 0);
  assert.equal(isAdmit(l.admit("r", "2001:db8::ffff", LIMITS, 0)), false);
  assert.ok(isAdmit(l.admit("r", "2001:db8:0:1::1", LIMITS, 0)));
});

test("shadow mode counts but admits; a kill switch or no rate skips; routes tracked are bounded", () => {
  const l = limiter(2);
  for (let i = 0; i < 2; i++) l.admit("r", "a", LIMITS, 0);
  assert.deepEqual(l.admit("r", "a", { ...LIMITS, shadow: true }, 0), {
    admit: true,
    shadowed: ["client_rate"],
  });
  assert.ok(isAdmit(l.admit("r", "a", { ...LIMITS, disabled: true }, 0)));
  assert.ok(isAdmit(l.admit("r", "a", { rate: 0, burst: 0 }, 0)));
  l.setMode({ disabled: true });
  assert.ok(isAdmit(l.admit("r", "a", LIMITS, 0)));
  l.setMode({});
  for (const route of ["r2", "r3", "r4"]) l.admit(route, "a", LIMITS, 0);
  assert.deepEqual(l.size, { routes: 2, clients: 2 });
});
