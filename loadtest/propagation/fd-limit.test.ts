import assert from "node:assert/strict";
import { test } from "node:test";
import { assertOpenFiles, parseOpenFilesLimit } from "./fd-limit.ts";

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

test("reads the soft open-files limit", () => {
  assert.equal(parseOpenFilesLimit(LIMITS), 1024);
  assert.equal(parseOpenFilesLimit(LIMITS.replace("1024     ", "unlimited")), undefined);
  assert.equal(parseOpenFilesLimit("nothing"), undefined);
});

test("a need above this process's limit is refused with the fix in the message", async () => {
  await assertOpenFiles(10, "a few connections");
  await assert.rejects(
    assertOpenFiles(Number.MAX_SAFE_INTEGER, "too many nodes"),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, "CORRAL_LOADTEST_BAD_PARAM");
      assert.match(err.message, /ulimit -n/);
      return true;
    },
  );
});
