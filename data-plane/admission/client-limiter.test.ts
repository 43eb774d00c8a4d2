import assert from "node:assert/strict";
import { test } from "node:test";
import { ClientLimiter } from "./client-limiter.ts";

const LIMITS = { rate: 1, burst: 2 };
const limiter = (maxRoutes = 4) => new ClientLimiter({ slots: 8, maxRoutes, ipv6Prefix: 64 });

test("each client address has its own bucket per route; 429 client_rate with Retry-After", () => {
  const l = limiter();
  assert.ok(l.admit("r1", "203.0.113.1", LIMITS, 0).admit);
  assert.ok(l.admit("r1", "203.0.113.1", LIMITS, 0).admit);
  const refused = l.admit("r1", "203.0.113.1", LIMITS, 0);
  assert.equal(refused.admit, false);
  assert.ok(!refused.admit && refused.reason === "client_rate" && refused.headers["retry-after"] === "1");
  assert.ok(!refused.admit && refused.headers["corral-reason"] === "client_rate");
  assert.ok(l.admit("r1", "203.0.113.2", LIMITS, 0).admit, "another address");
  assert.ok(l.admit("r2", "203.0.113.1", LIMITS, 0).admit, "another route");
  assert.ok(l.admit("r1", "203.0.113.1", LIMITS, 1000).admit, "refilled");
});

test("IPv6 addresses of one /64 share a bucket", () => {
  const l = limiter();
  l.admit("r", "2001:db8::1", LIMITS, 0);
  l.admit("r", "2001:db8::2", LIMITS, 0);
  assert.equal(l.admit("r", "2001:db8::ffff", LIMITS, 0).admit, false);
  assert.ok(l.admit("r", "2001:db8:0:1::1", LIMITS, 0).admit);
});

test("shadow mode counts but admits; a kill switch or no rate skips; routes tracked are bounded", () => {
  const l = limiter(2);
  for (let i = 0; i < 2; i++) l.admit("r", "a", LIMITS, 0);
  assert.deepEqual(l.admit("r", "a", { ...LIMITS, shadow: true }, 0), {
    admit: true,
    shadowed: ["client_rate"],
  });
  assert.ok(l.admit("r", "a", { ...LIMITS, disabled: true }, 0).admit);
  assert.ok(l.admit("r", "a", { rate: 0, burst: 0 }, 0).admit);
  l.setMode({ disabled: true });
  assert.ok(l.admit("r", "a", LIMITS, 0).admit);
  l.setMode({});
  for (const route of ["r2", "r3", "r4"]) l.admit(route, "a", LIMITS, 0);
  assert.deepEqual(l.size, { routes: 2, clients: 2 });
});
