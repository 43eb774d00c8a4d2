import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { BatchedCounter } from "./batched-counter.ts";

async function values(registry: Registry, name: string) {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return Object.fromEntries((metric?.values ?? []).map((v) => [JSON.stringify(v.labels), v.value]));
}

test("cells count per label set and reach the counter on every collection, nothing lost or doubled", async () => {
  const registry = new Registry();
  const batched = new BatchedCounter<"stage" | "outcome">({
    name: "t_decisions_total",
    help: "h",
    labelNames: ["stage", "outcome"],
    registers: [registry],
  });
  const admit = batched.cell({ stage: "shed", outcome: "admit" });
  assert.equal(batched.cell({ stage: "shed", outcome: "admit" }), admit, "one cell per label set");
  const reject = batched.cell({ stage: "shed", outcome: "reject" });
  admit.n += 3;
  reject.n++;
  batched.counter.inc({ stage: "shed", outcome: "admit" }); // direct inc() still adds up
  assert.deepEqual(await values(registry, "t_decisions_total"), {
    '{"stage":"shed","outcome":"admit"}': 4,
    '{"stage":"shed","outcome":"reject"}': 1,
  });
  admit.n++;
  assert.deepEqual(await values(registry, "t_decisions_total"), {
    '{"stage":"shed","outcome":"admit"}': 5,
    '{"stage":"shed","outcome":"reject"}': 1,
  });
  assert.match(await registry.metrics(), /t_decisions_total\{stage="shed",outcome="admit"\} 5/);
});
