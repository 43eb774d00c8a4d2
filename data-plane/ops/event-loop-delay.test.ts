import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as yieldToTimers } from "node:timers/promises";
import { poll } from "../../test/support/poll.ts";
import { EventLoopDelaySampler } from "./event-loop-delay.ts";

function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** Waits until the sampler has closed `windows` more windows. */
async function windowsSampled(sampler: EventLoopDelaySampler, windows: number): Promise<void> {
  const target = sampler.samples + windows;
  await poll(`${windows} more sampled windows`, () => sampler.samples >= target);
}

// Wide margins: the machine may be loaded, so an idle loop may show some delay; a loop blocked
// 200 ms at a time shows about 190 ms (the histogram's 10 ms timer period is taken off).
test("an idle loop shows little delay; a loop blocked over and over shows it", async () => {
  const sampler = new EventLoopDelaySampler({ windowMs: 300 });
  try {
    await windowsSampled(sampler, 2);
    const idle = sampler.delayMs;
    assert.ok(idle < 100, `idle: ${idle} ms`);
    const busyFrom = sampler.samples;
    while (sampler.samples < busyFrom + 2) {
      block(200);
      await yieldToTimers(0);
    }
    assert.ok(
      sampler.delayMs > 100 && sampler.delayMs > idle + 50,
      `busy: ${sampler.delayMs} ms, idle ${idle} ms`,
    );
  } finally {
    sampler.close();
  }
});
