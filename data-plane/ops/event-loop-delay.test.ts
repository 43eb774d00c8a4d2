import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { EventLoopDelaySampler } from "./event-loop-delay.ts";

function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test("an idle loop shows next to no delay; a loop blocked over and over shows it", async () => {
  const sampler = new EventLoopDelaySampler({ windowMs: 300 });
  try {
    await sleep(700);
    const idle = sampler.delayMs;
    assert.ok(idle < 25, `idle: ${idle} ms (the timer's own 10 ms are not delay)`);
    const until = performance.now() + 700;
    while (performance.now() < until) {
      block(30);
      await sleep(0);
    }
    await sleep(5);
    assert.ok(sampler.delayMs > idle + 8, `busy: ${sampler.delayMs} ms, idle ${idle} ms`);
  } finally {
    sampler.close();
  }
});
