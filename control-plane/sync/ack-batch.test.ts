import assert from "node:assert/strict";
import { test } from "node:test";
import { type AckRecord, AckBatch } from "./ack-batch.ts";

function recorder(opts: { fail?: number } = {}) {
  const writes: AckRecord[][] = [];
  const errors: number[] = [];
  let release: (() => void) | undefined;
  let hold = false;
  const batch = new AckBatch({
    flushMs: 5,
    write: async (acks) => {
      writes.push(acks);
      if (hold) await new Promise<void>((r) => (release = r));
      if (writes.length === opts.fail) throw new Error("database down");
    },
    onError: (_err, count) => errors.push(count),
  });
  return {
    batch,
    writes,
    errors,
    holdNext: () => (hold = true),
    releaseHeld: () => {
      hold = false;
      release?.();
    },
  };
}

const ack = (slot: string, version: number): AckRecord => ({ slot, version, latencyMs: 10 });

test("the Acks of many nodes are written in one batch, one per node and version", async () => {
  const r = recorder();
  for (let i = 0; i < 1000; i++) r.batch.add(ack(`sim-${i}`, 7));
  r.batch.add(ack("sim-1", 7));
  r.batch.add(ack("sim-1", 8));
  await r.batch.idle();
  assert.equal(r.writes.length, 1);
  assert.equal(r.writes[0]!.length, 1001);
  assert.equal(r.writes[0]!.filter((a) => a.slot === "sim-1").length, 2);
});

test("Acks that arrive during a write go into the next one; writes never overlap", async () => {
  const r = recorder();
  r.holdNext();
  r.batch.add(ack("a", 1));
  await new Promise((resolve) => setImmediate(resolve));
  while (r.writes.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  r.batch.add(ack("b", 1));
  r.batch.add(ack("c", 1));
  assert.equal(r.writes.length, 1);
  r.releaseHeld();
  await r.batch.idle();
  assert.deepEqual(
    r.writes.map((w) => w.map((a) => a.slot)),
    [["a"], ["b", "c"]],
  );
  assert.equal(r.batch.pending, 0);
});

test("a failed write is reported with its size and later Acks are still written", async () => {
  const r = recorder({ fail: 1 });
  r.batch.add(ack("a", 1));
  r.batch.add(ack("b", 1));
  await r.batch.idle();
  r.batch.add(ack("a", 2));
  await r.batch.idle();
  assert.deepEqual(r.errors, [2]);
  assert.equal(r.writes.length, 2);
  assert.deepEqual(r.writes[1], [ack("a", 2)]);
});
