import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { poll } from "../../test/support/poll.ts";

/**
 * The node's stdout log destination batches lines (log-destination.ts); what it must never do
 * is keep them: a quiet node's line comes out on its own, and a node that closes writes all it
 * buffered, in order, before it exits. Each case runs a real process writing to a real pipe.
 */
const MODULE = new URL("./log-destination.ts", import.meta.url).href;

function logger(
  body: string,
  env: Record<string, string> = {},
): { child: ChildProcess; out: () => string[] } {
  const script = `import pino from "pino"; import { pbkdf2 } from "node:crypto";
import { flushLog, stdoutLogDestination } from ${JSON.stringify(MODULE)};
const log = pino({ base: undefined }, stdoutLogDestination()); ${body}`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    cwd: new URL("../..", import.meta.url),
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let text = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  const out = () => text.split("\n").filter((l) => l !== "");
  return { child, out };
}

test("a quiet node's one line is written without waiting for the batch to fill", async () => {
  const { child, out } = logger(`log.info({ n: 1 }, "alone"); setInterval(() => {}, 1000);`);
  try {
    const lines = await poll("the lone line on stdout", () => (out().length === 1 ? out() : undefined));
    assert.equal(JSON.parse(lines[0]!).msg, "alone");
  } finally {
    child.kill("SIGKILL");
  }
});

test("a node that closes has written every line, in order, before it exits", async () => {
  // the one thread-pool thread is busy hashing, so the batches' asynchronous writes are still
  // queued when the lines are logged: only waiting for them (flushLog) gets them out
  const { child, out } = logger(
    `pbkdf2("x", "y", 300_000, 32, "sha256", () => {});
for (let n = 0; n < 300; n++) log.info({ n }, "line"); await flushLog(log); process.exit(0);`,
    { UV_THREADPOOL_SIZE: "1" },
  );
  const [exitCode] = await once(child, "close");
  assert.equal(exitCode, 0);
  assert.deepEqual(
    out().map((l) => JSON.parse(l).n),
    Array.from({ length: 300 }, (_, n) => n),
  );
});
