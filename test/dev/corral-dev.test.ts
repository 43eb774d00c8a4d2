/**
 * `corral dev` end to end, as a newcomer runs it: it comes up on free ports in a fresh
 * directory, writes dev.json, the printed curl commands answer 200 from the demo upstream
 * through every data plane, a crashed child is reported while the rest keep serving, Ctrl-C
 * stops every process, and a second run on the same directory reuses tenant and key.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DEMO_MESSAGE } from "../../bin/dev/demo-upstreams.ts";
import type { DevJson } from "../../bin/dev/dev-report.ts";
import { echoOnce, echoStream } from "../../bin/dev/echo-client.ts";
import { CORRAL_BIN, cleanEnv, type DevRun, startDev } from "../support/corral-dev.ts";
import { poll } from "../support/poll.ts";

const BIN = CORRAL_BIN;

/** pids of the direct children of a process (Linux /proc). */
async function childPids(parent: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === parent) pids.push(Number(entry));
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function printedCurls(output: string): Array<{ header: string; url: string }> {
  return [...output.matchAll(/curl -H '([^']+)' (http:\/\/\S+)/g)].map((m) => ({
    header: m[1]!,
    url: m[2]!,
  }));
}

async function getThrough(
  url: string,
  header?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (header) {
    const [name, value] = header.split(/:\s*/, 2);
    headers[name!] = value!;
  }
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("corral dev", { timeout: 110_000 }, () => {
  let cwd: string;
  let run: DevRun | undefined;
  let dev: DevJson;

  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), "corral-dev-"));
    run = await startDev(cwd);
    dev = JSON.parse(await readFile(join(cwd, ".corral", "dev.json"), "utf8"));
  });

  after(async () => {
    if (run && run.proc.exitCode === null) {
      run.proc.kill("SIGINT");
      await run.exited;
    }
    await rm(cwd, { recursive: true, force: true });
  });

  it("writes dev.json in the shape of docs/design.md §9.3, every pid alive", () => {
    assert.deepEqual(Object.keys(dev), ["controlPlane", "dataPlane", "upstreams", "demo", "blobDir"]);
    assert.match(dev.controlPlane.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(dev.controlPlane.grpc, /^127\.0\.0\.1:\d+$/);
    assert.ok(dev.controlPlane.operatorToken.length >= 16);
    assert.deepEqual(
      dev.dataPlane.map((dp) => [dp.slot, dp.zone]),
      [
        ["dp-0", "zone-a"],
        ["dp-1", "zone-b"],
        ["dp-2", "zone-c"],
      ],
    );
    assert.deepEqual(dev.demo, {
      tenant: "demo",
      apiKey: dev.demo.apiKey,
      httpPath: "/hello",
      grpcService: "corral.demo.v1.Echo",
    });
    assert.match(dev.demo.apiKey, /^crl_/);
    assert.equal(dev.blobDir, join(".corral", "blobs"));
    for (const pid of [dev.controlPlane.pid, ...dev.dataPlane.map((dp) => dp.pid)])
      assert.ok(alive(pid), `pid ${pid}`);
  });

  it("the printed curl commands answer 200 from the demo upstream through each data plane", async () => {
    const curls = printedCurls(run!.output());
    assert.deepEqual(
      curls.map((c) => c.url),
      dev.dataPlane.map((dp) => `${dp.url}/hello`),
    );
    for (const curl of curls) {
      const { status, body } = await getThrough(curl.url, curl.header);
      assert.equal(status, 200, curl.url);
      assert.equal(body.message, DEMO_MESSAGE);
      const seen = body.headers as Record<string, string>;
      assert.equal(seen["corral-tenant"], "demo");
      assert.equal(seen["x-api-key"], undefined);
    }
    assert.equal((await getThrough(`${dev.dataPlane[0]!.url}/hello`)).status, 401);
  });

  it("the demo gRPC upstream answers Echo and EchoStream", async () => {
    assert.equal(await echoOnce(dev.upstreams.grpc, "hello"), "hello");
    assert.deepEqual(await echoStream(dev.upstreams.grpc, "x"), ["x", "x", "x"]);
  });

  it("corral admin finds the control plane and token through dev.json", () => {
    const res = spawnSync(process.execPath, [BIN, "admin", "tenants", "get", "demo"], {
      cwd,
      env: cleanEnv(),
      encoding: "utf8",
      timeout: 15_000,
    });
    assert.equal(res.status, 0, res.stderr);
    assert.equal(JSON.parse(res.stdout).id, "demo");
  });

  it("reports a crashed data plane and keeps the others serving", async () => {
    const victim = dev.dataPlane[1]!;
    process.kill(victim.pid, "SIGKILL");
    await poll("corral dev reporting the crash", () => run!.output().includes("dp-1 was killed by SIGKILL"));
    assert.match(run!.output(), /dp-1 was killed by SIGKILL; the other processes keep running/);
    const key = `x-api-key: ${dev.demo.apiKey}`;
    assert.equal((await getThrough(`${dev.dataPlane[0]!.url}/hello`, key)).status, 200);
    assert.equal((await getThrough(`${dev.dataPlane[2]!.url}/hello`, key)).status, 200);
  });

  it("SIGINT stops every child and exits 0", async () => {
    const children = await childPids(run!.proc.pid!);
    assert.ok(children.length >= 5, `children: ${children.join(",")}`); // postgres, upstreams, cp, 2 live dps
    run!.proc.kill("SIGINT");
    assert.equal(await run!.exited, 0);
    const left = [...children, dev.controlPlane.pid, ...dev.dataPlane.map((dp) => dp.pid)].filter(alive);
    assert.deepEqual(left, []);
  });

  it("a second run on the same directory reuses the demo tenant and key", async () => {
    const first = dev.demo.apiKey;
    run = await startDev(cwd);
    const again: DevJson = JSON.parse(await readFile(join(cwd, ".corral", "dev.json"), "utf8"));
    assert.equal(again.demo.apiKey, first);
    const { status } = await getThrough(`${again.dataPlane[0]!.url}/hello`, `x-api-key: ${first}`);
    assert.equal(status, 200);
    run.proc.kill("SIGTERM");
    assert.equal(await run.exited, 0);
  });
});
