import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import type { Slot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { FleetWatcher } from "./fleet-watcher.ts";

const slot = (name: string, live = true): Slot => ({
  name,
  zone: "z",
  httpUrl: "",
  grpcAddress: "",
  live,
  lastSeenMs: 0,
});

function setup(initial: Slot[]) {
  let current = initial;
  let requests = 0;
  const watcher = new FleetWatcher({
    currentSlots: async () => current,
    requestPublish: () => {
      requests++;
    },
    logger: pino({ level: "silent" }),
  });
  return {
    watcher,
    set: (slots: Slot[]) => {
      current = slots;
    },
    requests: () => requests,
  };
}

test("asks for nothing before a snapshot was compiled (not the publisher)", async () => {
  const w = setup([slot("a")]);
  assert.equal(await w.watcher.check(), false);
  assert.equal(w.requests(), 0);
});

test("asks once per distinct new slot table, and again after a compile of an older one", async () => {
  const w = setup([slot("a")]);
  w.watcher.compiled([slot("a")]);
  assert.equal(await w.watcher.check(), false, "unchanged");
  w.set([slot("a", false)]);
  assert.equal(await w.watcher.check(), true, "a slot died");
  assert.equal(await w.watcher.check(), false, "already asked for this table");
  w.set([slot("a", false), slot("b")]);
  assert.equal(await w.watcher.check(), true, "another change");
  w.watcher.compiled([slot("a", false), slot("b")]);
  assert.equal(await w.watcher.check(), false);
  assert.equal(w.requests(), 2);
});

test("nudges during a check coalesce; a failing read is logged, never thrown", {
  timeout: 10_000,
}, async () => {
  // every read waits until the test lets it finish; the first one fails
  const reads: PromiseWithResolvers<void>[] = [];
  let readStarted = Promise.withResolvers<void>();
  const watcher = new FleetWatcher({
    currentSlots: async () => {
      const gate = Promise.withResolvers<void>();
      const n = reads.push(gate);
      readStarted.resolve();
      await gate.promise;
      if (n === 1) throw new Error("database down");
      return [slot("a")];
    },
    requestPublish: () => {},
    logger: pino({ level: "silent" }),
  });
  watcher.compiled([]);
  for (let i = 0; i < 5; i++) watcher.nudge();
  assert.equal(reads.length, 1, "one check at a time");
  readStarted = Promise.withResolvers();
  reads[0]!.resolve();
  await readStarted.promise;
  reads[1]!.resolve();
  await watcher.close();
  assert.equal(reads.length, 2, "one check, then one more for the nudges that came during it");
  watcher.nudge();
  assert.equal(reads.length, 2, "closed: no more checks");
});
