import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { test } from "node:test";
import { parsePin, pinProcess } from "./pin-cores.ts";

test("--pin: off, or two different cores of this machine", () => {
  assert.equal(parsePin("off", 2), undefined);
  assert.deepEqual(parsePin("0:1", 2), { proxyCore: 0, loadCore: 1 });
  assert.deepEqual(parsePin("3:1", 4), { proxyCore: 3, loadCore: 1 });
  for (const bad of ["0:0", "0:2", "2:0", "0", "0:1:2", "a:b", "", "-1:0", " 0:1"])
    assert.throws(() => parsePin(bad, 2), /--pin: off, or <proxy core>:<load core>/, bad);
});

test("pinProcess moves every thread of a process to the core", {
  skip: process.platform !== "linux",
}, async () => {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  try {
    const core = availableParallelism() - 1;
    pinProcess(child.pid!, core);
    for (const tid of await readdir(`/proc/${child.pid}/task`)) {
      const status = await readFile(`/proc/${child.pid}/task/${tid}/status`, "utf8");
      assert.equal(/^Cpus_allowed_list:\s*(\S+)$/m.exec(status)?.[1], String(core), `thread ${tid}`);
    }
  } finally {
    child.kill("SIGKILL");
  }
});
