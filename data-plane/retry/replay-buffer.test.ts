import assert from "node:assert/strict";
import { test } from "node:test";
import { ReplayBuffer } from "./replay-buffer.ts";

test("keeps copies of the chunks up to the bound, then nothing", () => {
  const replay = new ReplayBuffer(10);
  const chunk = Buffer.from("abcd");
  replay.add(chunk);
  chunk.fill(0); // the stream reusing its memory does not change what is replayed
  replay.add(Buffer.from("efgh"));
  assert.equal(Buffer.concat(replay.chunks).toString(), "abcdefgh");
  assert.equal(replay.overflowed, false);
  replay.add(Buffer.from("ijk"));
  assert.equal(replay.overflowed, true);
  assert.deepEqual(replay.chunks, []);
  replay.add(Buffer.from("l"));
  assert.deepEqual(replay.chunks, []);
});
