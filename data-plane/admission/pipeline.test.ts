import assert from "node:assert/strict";
import { test } from "node:test";
import { ConcurrencyLimiter } from "./concurrency-limiter.ts";
import { checkDeadline } from "./deadline.ts";
import type { Priority } from "./decision.ts";
import { LoadShedder } from "./load-shedder.ts";
import { type AdmissionStage, composeAdmission } from "./pipeline.ts";
import { RouteLimiter } from "./route-limiter.ts";
import { TenantLimiter } from "./tenant-limiter.ts";

type Req = { tenant: string; route: string; priority: Priority; remainingMs: number; now: number };

/** The composition the data plane uses: deadline -> shed -> tenant concurrency -> tenant buckets -> route buckets. */
function pipeline(load: { inFlight: number }) {
  const shedder = new LoadShedder({ maxInflight: 10, random: () => 0 });
  const concurrency = new ConcurrencyLimiter();
  const tenants = new TenantLimiter();
  const routes = new RouteLimiter();
  const stages: AdmissionStage<Req>[] = [
    { name: "deadline", run: (r) => checkDeadline(r.remainingMs, 20) },
    { name: "shed", run: (r) => shedder.admit(r.priority, { inFlight: load.inFlight, eventLoopDelayMs: 0 }) },
    { name: "concurrency", run: (r) => concurrency.acquire(r.tenant, { concurrency: 2 }) },
    { name: "tenant", run: (r) => tenants.admit(r.tenant, { rate: 1, burst: 3 }, r.now) },
    { name: "route", run: (r) => routes.admit(r.route, { rate: 1, burst: 1 }, r.now) },
  ];
  return { admit: composeAdmission(stages), concurrency, tenants };
}

const req = (over: Partial<Req> = {}): Req => ({
  tenant: "acme",
  route: "r1",
  priority: "standard",
  remainingMs: 1000,
  now: 1_000_000,
  ...over,
});

test("all stages admit: headers merged, one release for the concurrency slot", () => {
  const p = pipeline({ inFlight: 0 });
  const decision = p.admit(req());
  assert.equal(decision.admit, true);
  assert.ok(decision.admit && decision.headers?.ratelimit);
  assert.equal(p.concurrency.inFlight("acme"), 1);
  decision.admit && decision.release?.();
  decision.admit && decision.release?.();
  assert.equal(p.concurrency.inFlight("acme"), 0);
});

test("an early rejection spends nothing later: no slot, no tokens", () => {
  const p = pipeline({ inFlight: 0 });
  const late = p.admit(req({ remainingMs: 5 }));
  assert.equal(late.admit ? "admit" : late.reason, "deadline");
  assert.equal(p.concurrency.inFlight("acme"), 0);
  assert.equal(p.tenants.stats().admitted, 0);
});

test("shedding comes before tenant limits, by priority", () => {
  const load = { inFlight: 7 };
  const p = pipeline(load);
  const batch = p.admit(req({ priority: "batch" }));
  assert.equal(batch.admit ? "admit" : batch.reason, "shed");
  assert.equal(p.admit(req({ priority: "critical" })).admit, true);
});

test("a later rejection releases the slot taken earlier and keeps its own headers", () => {
  const p = pipeline({ inFlight: 0 });
  const first = p.admit(req());
  const second = p.admit(req());
  assert.equal(first.admit, true);
  assert.equal(second.admit ? "admit" : second.reason, "quota", "the route bucket (burst 1) refuses");
  assert.equal(p.concurrency.inFlight("acme"), 1, "only the admitted request holds a slot");
  assert.ok(!second.admit && second.headers["retry-after"] === "1");
  assert.equal(second.admit ? undefined : second.headers["corral-reason"], "quota");
});

test("the concurrency cap applies before the buckets", () => {
  const p = pipeline({ inFlight: 0 });
  p.admit(req({ route: "a" }));
  p.admit(req({ route: "b" }));
  const third = p.admit(req({ route: "c" }));
  assert.equal(third.admit ? "admit" : third.reason, "concurrency");
  assert.equal(p.tenants.stats().admitted, 2);
});

test("a stage that throws releases what earlier stages took", () => {
  const concurrency = new ConcurrencyLimiter();
  const admit = composeAdmission<string>([
    { name: "concurrency", run: (t) => concurrency.acquire(t, { concurrency: 5 }) },
    {
      name: "broken",
      run: () => {
        throw new Error("boom");
      },
    },
  ]);
  assert.throws(() => admit("acme"), /boom/);
  assert.equal(concurrency.inFlight("acme"), 0);
});

test("shadowed notes from several stages are collected", () => {
  const admit = composeAdmission<null>([
    { name: "a", run: () => ({ admit: true, shadowed: ["shed"] }) },
    { name: "b", run: () => ({ admit: true, shadowed: ["quota"] }) },
  ]);
  assert.deepEqual(admit(null), { admit: true, shadowed: ["shed", "quota"] });
});
