import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageMeter } from "../ops/usage-meter.ts";
import type { RequestContext } from "./stage.ts";
import { requestMeter } from "./usage-metering.ts";

const tenant = (shard: string[]) => ({ id: "acme", shard }) as unknown as RequestContext["tenant"];
const ctx = (over: Partial<RequestContext>) => over as RequestContext;

test("counts what this member answers: admitted, or the refusal's reason", () => {
  const meter = new UsageMeter({ now: () => 0 });
  const m = requestMeter(meter, "dp-1");
  const served = { tenant: tenant(["dp-0", "dp-1"]), keyId: "0123456789ab" };
  m.answered(ctx({ ...served, route: { id: "rt_1" } as RequestContext["route"] }), undefined);
  m.answered(ctx(served), { code: "CORRAL_DP_NO_ROUTE" });
  m.answered(ctx(served), { code: "CORRAL_DP_QUOTA" });
  m.answered(ctx({ tenant: tenant([]) }), { code: "CORRAL_DP_SHED" }); // no shard: served anywhere
  assert.deepEqual(
    meter.take().map((e) => [e.keyId, e.routeId, e.outcome, e.count]),
    [
      ["0123456789ab", "rt_1", "admitted", 1],
      ["0123456789ab", "", "no_route", 1],
      ["0123456789ab", "", "quota", 1],
      ["", "", "shed", 1],
    ],
  );
});

test("does not count unidentified requests, forwards, or a tenant this node is not a member for", () => {
  const meter = new UsageMeter({ now: () => 0 });
  const m = requestMeter(meter, "dp-9");
  m.answered(ctx({}), { code: "CORRAL_DP_UNAUTHORIZED" });
  m.answered(ctx({ tenant: tenant(["dp-9"]), forward: { peers: [] } }), undefined);
  m.answered(ctx({ tenant: tenant(["dp-0"]) }), { code: "CORRAL_DP_NO_ROUTE" });
  assert.deepEqual(meter.take(), []);
});
