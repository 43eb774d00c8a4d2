/**
 * The whole platform on one machine, as a library: Postgres (PGlite behind a socket, or one
 * you name), control plane(s), data planes and the demo upstreams, each a child process.
 * `corral dev`, the end-to-end and chaos tests and the load harness all start it through here.
 */
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { deriveNodeCredential } from "../../proto/node-credential.ts";
import { type DirLock, lockDir } from "./dir-lock.ts";
import { type ChildListener, type Env, ManagedChild } from "./managed-child.ts";
import {
  controlPlaneEnv,
  DEFAULT_ZONES,
  dataPlaneEnv,
  inheritedEnv,
  slotName,
  zoneOf,
} from "./platform-env.ts";
import { disposeAll, PlatformProcess, type Role } from "./platform-process.ts";
import type { ControlPlaneHandle, DataPlaneHandle, Platform, PlatformOptions } from "./platform-types.ts";
import { RunningPlatform } from "./running-platform.ts";
import {
  allPorts,
  DEFAULT_PORTS,
  distinctFreePorts,
  FREE_PORTS,
  portsInUse,
  type ResolvedPorts,
  resolvePorts,
} from "./ports.ts";
import { waitForHttp } from "./readiness.ts";
import { type DevSecrets, loadSecrets } from "./secrets.ts";
import { DATA_PLANE_V8_FLAGS } from "../../data-plane/node-flags.ts";

export type {
  ControlPlaneHandle,
  DataPlaneHandle,
  Platform,
  PlatformEvent,
  PlatformOptions,
} from "./platform-types.ts";
export type { ProcessHandle } from "./platform-process.ts";

const BIN = fileURLToPath(new URL("../corral.ts", import.meta.url));
const PGLITE_SERVER = fileURLToPath(new URL("./pglite-server.ts", import.meta.url));
const DEMO_UPSTREAMS = fileURLToPath(new URL("./demo-upstreams.ts", import.meta.url));

export async function startPlatform(opts: PlatformOptions): Promise<Platform> {
  const dir = resolve(opts.dir);
  await mkdir(join(dir, "logs"), { recursive: true });
  const lock = await lockDir(dir);
  const launcher = new Launcher(dir, opts.host ?? "127.0.0.1", opts);
  try {
    const ctx = await prepare(dir, opts);
    return await launch(launcher, ctx, lock);
  } catch (err) {
    await disposeAll(launcher.started, opts.stopGraceMs);
    await lock.release();
    throw err;
  }
}

async function prepare(dir: string, opts: PlatformOptions): Promise<LaunchContext> {
  const secrets = opts.secrets ?? (await loadSecrets(dir));
  const host = opts.host ?? "127.0.0.1";
  const plan = opts.ports === "free" ? FREE_PORTS : { ...DEFAULT_PORTS, ...opts.ports };
  const counts = { controlPlanes: opts.controlPlanes ?? 1, dataPlanes: opts.dataPlanes ?? 3 };
  const ports = await resolvePorts(plan, counts, distinctFreePorts(host));
  const busy = await portsInUse(portsToBind(ports, opts), host);
  if (busy.length > 0) {
    const hint = "(another corral dev?) — stop it, or choose other ports (corral dev --free-ports)";
    throw new Error(`port${busy.length > 1 ? "s" : ""} ${busy.join(", ")} already in use ${hint}`);
  }
  return { dir, host, ports, secrets, opts };
}

function portsToBind(ports: ResolvedPorts, opts: PlatformOptions): number[] {
  const all = allPorts(ports);
  return all.filter(
    (port) =>
      !(port === ports.pg && opts.pg && opts.pg !== "pglite") &&
      !(opts.demoUpstreams === false && (port === ports.upstreamHttp || port === ports.upstreamGrpc)),
  );
}

interface LaunchContext {
  dir: string;
  host: string;
  ports: ResolvedPorts;
  secrets: DevSecrets;
  opts: PlatformOptions;
}

/**
 * Start order: the demo upstreams and Postgres; once Postgres is up, the control plane(s)
 * (the first runs the migrations alone) and, meanwhile, the data planes (a data plane retries
 * its CP dial with backoff; starting them later than Postgres keeps that backoff short).
 * Every start settles before a failure is reported, so cleanup sees every child.
 */
async function launch(launcher: Launcher, ctx: LaunchContext, lock: DirLock): Promise<Platform> {
  const { dir, host, ports, secrets, opts } = ctx;
  const blobUrl = opts.blobUrl ?? pathToFileURL(join(dir, "blobs")).href;
  const shared = { host, blobUrl, logLevel: opts.logLevel };
  const cpUrls = ports.cps.map((p) => `http://${host}:${p.http}`);
  const upstreams = opts.demoUpstreams === false ? undefined : launcher.upstreams(ports);
  const pgStarted =
    opts.pg && opts.pg !== "pglite" ? Promise.resolve(undefined) : launcher.postgres(ports.pg);
  const pgAndCps = (async () => {
    const postgres = await pgStarted;
    const pgUrl = postgres?.url ?? (opts.pg as { url: string }).url;
    const cps: ControlPlaneHandle[] = [];
    for (const [i, p] of ports.cps.entries()) {
      const env = controlPlaneEnv({
        ...shared,
        ...secrets,
        id: `cp-${i}`,
        pgUrl,
        httpPort: p.http,
        grpcPort: p.grpc,
      });
      cps.push(await launcher.controlPlane(`cp-${i}`, env, p));
    }
    return { postgres, pgUrl, cps };
  })();
  const startDataPlane = (p: ResolvedPorts["dps"][number], i: number) => {
    const slot = slotName(i);
    const zone = zoneOf(i, opts.zones ?? DEFAULT_ZONES);
    const env = dataPlaneEnv({
      ...shared,
      slot,
      nodeCredential: deriveNodeCredential(secrets.nodeSecret, slot),
      zone,
      cpUrl: cpUrls[i % cpUrls.length]!,
      verifyKey: secrets.verifyKey,
      httpPort: p.http,
      grpcPort: p.grpc,
      opsPort: p.ops,
      dataDir: join(dir, slot),
    });
    const extra = typeof opts.dpEnv === "function" ? opts.dpEnv(slot, i) : opts.dpEnv;
    return launcher.dataPlane(slot, zone, { ...env, ...extra }, p);
  };
  const dps = pgStarted.then(() => allOrFirstError(ports.dps.map(startDataPlane)));
  const [core, up, dataPlanes] = await allOrFirstError([pgAndCps, upstreams, dps] as const);
  return new RunningPlatform({
    dir,
    host,
    ports,
    secrets,
    stopGraceMs: opts.stopGraceMs,
    started: launcher.started,
    lock,
    blobUrl,
    pgUrl: core.pgUrl,
    cps: core.cps,
    dps: dataPlanes,
    upstreams: up,
    postgres: core.postgres?.process,
  });
}

/** Like Promise.all, but waits for every promise to settle before rejecting with the first error. */
async function allOrFirstError<T extends readonly unknown[]>(
  promises: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as {
    -readonly [K in keyof T]: Awaited<T[K]>;
  };
}

/** Creates, starts and remembers the child processes of one platform. */
class Launcher {
  readonly started: PlatformProcess[] = [];
  readonly #dir: string;
  readonly #host: string;
  readonly #opts: PlatformOptions;
  readonly #baseEnv: Env;

  constructor(dir: string, host: string, opts: PlatformOptions) {
    this.#dir = dir;
    this.#host = host;
    this.#opts = opts;
    this.#baseEnv = inheritedEnv(process.env);
  }

  get #timeoutMs(): number {
    return this.#opts.readyTimeoutMs ?? 30_000;
  }

  async postgres(port: number): Promise<{ url: string; process: PlatformProcess }> {
    let url = "";
    const args = [
      PGLITE_SERVER,
      "--data-dir",
      join(this.#dir, "pglite"),
      "--host",
      this.#host,
      "--port",
      String(port),
    ];
    const proc = await this.#start("postgres", "postgres", args, {}, async (child) => {
      url = String(
        (await child.waitForJsonLine((o) => o.msg === "listening", this.#timeoutMs, this.#opts.signal)).url,
      );
    });
    return { url, process: proc };
  }

  async upstreams(ports: ResolvedPorts): Promise<{ http: string; grpc: string; process: PlatformProcess }> {
    const h = this.#host;
    const args = [DEMO_UPSTREAMS, "--host", h, "--http-port", String(ports.upstreamHttp)];
    args.push("--grpc-port", String(ports.upstreamGrpc));
    const proc = await this.#start("upstreams", "upstreams", args, {}, async (child) => {
      await child.waitForJsonLine((o) => o.msg === "listening", this.#timeoutMs, this.#opts.signal);
    });
    return { http: `http://${h}:${ports.upstreamHttp}`, grpc: `${h}:${ports.upstreamGrpc}`, process: proc };
  }

  async controlPlane(id: string, env: Env, p: { http: number; grpc: number }): Promise<ControlPlaneHandle> {
    const url = `http://${this.#host}:${p.http}`;
    const full = { ...env, ...this.#opts.extraEnv, ...this.#opts.cpEnv };
    const proc = await this.#start(id, "control-plane", [BIN, "control-plane"], full, (child) =>
      waitForHttp(`${url}/readyz`, { child, timeoutMs: this.#timeoutMs, signal: this.#opts.signal }),
    );
    return Object.assign(proc, { id, url, grpc: `${this.#host}:${p.grpc}` });
  }

  async dataPlane(slot: string, zone: string, env: Env, p: { http: number; grpc: number; ops: number }) {
    const h = this.#host;
    const ops = `http://${h}:${p.ops}`;
    const full = { ...env, ...this.#opts.extraEnv };
    const proc = await this.#start(
      slot,
      "data-plane",
      [...DATA_PLANE_V8_FLAGS, BIN, "data-plane"],
      full,
      (child) =>
        waitForHttp(`${ops}/healthz`, { child, timeoutMs: this.#timeoutMs, signal: this.#opts.signal }),
    );
    const handle: DataPlaneHandle = Object.assign(proc, {
      slot,
      zone,
      url: `http://${h}:${p.http}`,
      grpc: `${h}:${p.grpc}`,
      ops,
    });
    return handle;
  }

  async #start(
    name: string,
    role: Role,
    args: string[],
    env: Env,
    ready: (child: ManagedChild) => Promise<void>,
  ): Promise<PlatformProcess> {
    this.#opts.signal?.throwIfAborted();
    const spec = {
      name,
      args,
      env: { ...this.#baseEnv, ...env },
      cwd: this.#opts.cwd ?? process.cwd(),
      logFile: join(this.#dir, "logs", `${name}.log`),
    };
    const child = new ManagedChild(spec, this.#listener());
    const handle = new PlatformProcess(role, child, ready, this.#opts.stopGraceMs ?? 5000);
    this.started.push(handle);
    const since = performance.now();
    await handle.start();
    this.#opts.onEvent?.({ type: "ready", name, pid: handle.pid, ms: Math.round(performance.now() - since) });
    return handle;
  }

  #listener(): ChildListener {
    const onEvent = this.#opts.onEvent;
    return {
      line: (child, line, stream) => onEvent?.({ type: "line", name: child.name, line, stream }),
      unexpectedExit: (child, exit) =>
        onEvent?.({ type: "exit", name: child.name, ...exit, logFile: child.spec.logFile }),
    };
  }
}
