import assert from "node:assert/strict";
import { test } from "node:test";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
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
    // the first busy window may have begun idle: the reading is the smaller of the last two
    while (sampler.samples < busyFrom + 3) {
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

/**
 * A child process with a sampler reports every window's reading and the longest gap between its
 * own 20 ms ticks (which shows that the pause reached its loop). SIGUSR2 holds its loop for
 * 1.5 s in one turn: to the sampler the same as the OS not running the process that long.
 */
const CHILD = `
const { EventLoopDelaySampler } = await import(process.argv[1]);
process.on("SIGUSR2", () => {
  const end = performance.now() + 1500;
  while (performance.now() < end);
});
const sampler = new EventLoopDelaySampler({ windowMs: 300 });
let seen = 0, last = performance.now(), gap = 0;
setInterval(() => {
  const now = performance.now();
  gap = Math.max(gap, now - last);
  last = now;
  if (sampler.samples === seen) return;
  seen = sampler.samples;
  console.log(JSON.stringify({ windows: seen, delayMs: sampler.delayMs, gapMs: gap }));
}, 20);
`;

type Reading = { windows: number; delayMs: number; gapMs: number };

// Before: the window a 1.5 s pause ended in held a few ticks, one of them the whole pause, and
// read ~300 ms or more: the node shed (pressure > 1) the requests that had queued meanwhile.
test("one long pause of the whole process (the OS not running it) is not read as load", async () => {
  const url = new URL("./event-loop-delay.ts", import.meta.url).href;
  const child = spawn(process.execPath, ["--input-type=module", "-e", CHILD, url], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const readings: Reading[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => readings.push(JSON.parse(line)));
  try {
    await poll("3 windows before the pause", () => readings.length >= 3);
    const from = readings.length;
    child.kill("SIGUSR2");
    await poll("the pause reached the child's loop, and 4 windows after it", () => {
      const at = readings.findIndex((r, i) => i >= from && r.gapMs >= 1400);
      return at >= 0 && readings.length >= at + 4;
    });
    const worst = Math.max(...readings.slice(from).map((r) => r.delayMs));
    // wide: a loaded machine delays an idle loop too; the bug read the pause itself (300 ms and more)
    assert.ok(worst < 200, `delay after the pause: ${worst} ms (${JSON.stringify(readings.slice(from))})`);
  } finally {
    child.kill("SIGKILL");
  }
});
