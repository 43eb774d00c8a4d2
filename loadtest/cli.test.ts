import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";

const CLI = new URL("./cli.ts", import.meta.url).pathname;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], {
      timeout: 10_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test("without arguments the CLI lists the scenarios", async () => {
  const { code, stdout } = await cli();
  assert.equal(code, 0);
  assert.match(stdout, /self-check\s+Generator accuracy/);
  assert.match(stdout, /bench-proxies\s+/);
});

test("--help shows parameters and thresholds", async () => {
  const { code, stdout } = await cli("self-check", "--help");
  assert.equal(code, 0);
  assert.match(stdout, /--rate=300/);
  assert.match(stdout, /stall\.p999_ms >= 1800/);
});

test("usage errors exit 2 with a clear message", async () => {
  const unknown = await cli("no-such-scenario");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no scenario with that name: no-such-scenario; available: .*self-check/);
  const badParam = await cli("self-check", "--rate=fast");
  assert.equal(badParam.code, 2);
  assert.match(badParam.stderr, /--rate takes a number/);
});
