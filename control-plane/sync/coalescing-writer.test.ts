import assert from "node:assert/strict";
import { test } from "node:test";
import { CoalescingWriter } from "./coalescing-writer.ts";

function recorder() {
  const ran: string[] = [];
  const replaced: string[] = [];
  const errors: string[] = [];
  const writer = new CoalescingWriter<string>({
    onRun: () => {},
    onReplaced: (k) => replaced.push(k),
    onError: (k) => errors.push(k),
  });
  return { writer, ran, replaced, errors };
}

test("while one write runs, a burst of one kind leaves one waiting write: the latest", async () => {
  const { writer, ran, replaced } = recorder();
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  writer.enqueue("hello", async () => {
    ran.push("hello");
    await gate;
  });
  for (let i = 0; i < 1000; i++)
    writer.enqueue("status", async () => {
      ran.push(`status-${i}`);
    });
  assert.equal(writer.size, 1);
  release();
  await writer.idle();
  assert.deepEqual(ran, ["hello", "status-999"]);
  assert.equal(replaced.length, 999);
});

test("kinds run in the order they became pending, one at a time", async () => {
  const { writer, ran } = recorder();
  let inFlight = 0;
  const job = (name: string) => async () => {
    inFlight++;
    assert.equal(inFlight, 1);
    await new Promise((r) => setImmediate(r));
    ran.push(name);
    inFlight--;
  };
  writer.enqueue("hello", job("hello"));
  writer.enqueue("ack", job("ack-1"));
  writer.enqueue("status", job("status"));
  writer.enqueue("ack", job("ack-2"));
  await writer.idle();
  writer.enqueue("close", job("close"));
  await writer.idle();
  assert.deepEqual(ran, ["hello", "ack-2", "status", "close"]);
});

test("a failing write is reported and the queue goes on", async () => {
  const { writer, ran, errors } = recorder();
  writer.enqueue("ack", async () => {
    throw new Error("db down");
  });
  writer.enqueue("status", async () => {
    ran.push("status");
  });
  await writer.idle();
  assert.deepEqual(errors, ["ack"]);
  assert.deepEqual(ran, ["status"]);
});
