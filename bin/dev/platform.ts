/**
 * The whole platform on one machine, as a library: Postgres (PGlite behind a socket, or one
 * you name), control plane(s), data planes and the demo upstreams, each a child process.
 * `corral dev`, the end-to-end and chaos tests and the load harness all start it through here.
 */
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { AdminClient } from "../admin/admin-client.ts";
import { type ChildListener, type Env, ManagedChild } from "./managed-child.ts";
import {
  controlPlaneEnv,
  DEFAULT_ZONES,
  dataPlaneEnv,
  inheritedEnv,
  slotName,
  zoneOf,
} from "./platform-env.ts";
import { disposeAll, PlatformProcess, type ProcessHandle, type Role } from "./platform-process.ts";
import {
  DEFAULT_PORTS,
  distinctFreePorts,
  FREE_PORTS,
  type PortPlan,
  type ResolvedPorts,
  resolvePorts,
} from "./ports.ts";
import { httpStatus, waitFor, waitForHttp } from "./readiness.ts";
import { type DevSecrets, loadSecrets } from "./secrets.ts";

export interface PlatformOptions {
  /** state directory: secrets.json, pglite/, blobs/, dp-<slot>/, logs/ (created if missing) */
  dir: string;
  host?: string;
  /** base ports (DESIGN §8 defaults); 0 or "free" = any free port */
  ports?: Partial<PortPlan> | "free";
  dataPlanes?: number;
  controlPlanes?: number;
  zones?: readonly string[];
  /** "pglite" (default): PGlite under <dir>/pglite behind a socket; or an existing Postgres */
  pg?: "pglite" | { url: string };
  /** default file://<dir>/blobs */
  blobUrl?: string;
  /** start the demo HTTP and gRPC upstreams (default true) */
  demoUpstreams?: boolean;
  /** added to the environment of every control and data plane (e.g. CORRAL_S3_ENDPOINT) */
  extraEnv?: Env;
  cpEnv?: Env;
  dpEnv?: Env | ((slot: string, index: number) => Env);
  logLevel?: string;
  /** default: loaded from (or generated into) <dir>/secrets.json */
  secrets?: DevSecrets;
  /** per process (default 30 s) */
  readyTimeoutMs?: number;
  /** SIGTERM to SIGKILL (default 5 s) */
  stopGraceMs?: number;
  cwd?: string;
  signal?: AbortSignal;
  onEvent?: (event: PlatformEvent) => void;
}

export type PlatformEvent =
  | { type: "line"; name: string; line: string; stream: "stdout" | "stderr" }
  | { type: "ready"; name: string; pid: number | undefined; ms: number }
  | { type: "exit"; name: string; code: number | null; signal: NodeJS.Signals | null; logFile: string };

export interface ControlPlaneHandle extends ProcessHandle {
  id: string;
  url: string;
  grpc: string;
}

export interface DataPlaneHandle extends ProcessHandle {
  slot: string;
  zone: string;
  url: string;
  grpc: string;
  ops: string;
}

export interface Platform {
  dir: string;
  host: string;
  ports: ResolvedPorts;
  pgUrl: string;
  blobUrl: string;
  cpUrl: string;
  cp: ControlPlaneHandle;
  cps: ControlPlaneHandle[];
  dps: DataPlaneHandle[];
  upstreams: { http: string; grpc: string; process: ProcessHandle } | undefined;
  postgres: ProcessHandle | undefined;
  secrets: DevSecrets;
  operatorToken: string;
  nodeToken: string;
  verifyKey: string;
  processes(): ProcessHandle[];
  admin(): AdminClient;
  /** every running data plane is ready and answers 200 to GET path with the key */
  waitUntilServing(path: string, apiKey: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const BIN = fileURLToPath(new URL("../corral.ts", import.meta.url));
const PGLITE_SERVER = fileURLToPath(new URL("./pglite-server.ts", import.meta.url));
const DEMO_UPSTREAMS = fileURLToPath(new URL("./demo-upstreams.ts", import.meta.url));

export async function startPlatform(opts: PlatformOptions): Promise<Platform> {
  const dir = resolve(opts.dir);
  await mkdir(join(dir, "logs"), { recursive: true });
  const secrets = opts.secrets ?? (await loadSecrets(dir));
  const host = opts.host ?? "127.0.0.1";
  const plan = opts.ports === "free" ? FREE_PORTS : { ...DEFAULT_PORTS, ...opts.ports };
  const counts = { controlPlanes: opts.controlPlanes ?? 1, dataPlanes: opts.dataPlanes ?? 3 };
  const ports = await resolvePorts(plan, counts, distinctFreePorts(host));
  const launcher = new Launcher(dir, host, opts);
  try {
    return await launch(launcher, { dir, host, ports, secrets, opts });
  } catch (err) {
    await disposeAll(launcher.started, opts.stopGraceMs);
    throw err;
  }
}

interface LaunchContext {
  dir: string;
  host: string;
  ports: ResolvedPorts;
  secrets: DevSecrets;
  opts: PlatformOptions;
}

/**
 * Start order: Postgres, then the control plane(s) (the first runs the migrations alone);
 * the demo upstreams and the data planes start meanwhile (a data plane retries its CP dial).
 * Every start settles before a failure is reported, so cleanup sees every child.
 */
async function launch(launcher: Launcher, ctx: LaunchContext): Promise<Platform> {
  const { dir, host, ports, secrets, opts } = ctx;
  const blobUrl = opts.blobUrl ?? pathToFileURL(join(dir, "blobs")).href;
  const shared = { host, blobUrl, nodeToken: secrets.nodeToken, logLevel: opts.logLevel };
  const cpUrls = ports.cps.map((p) => `http://${host}:${p.http}`);
  const pgAndCps = (async () => {
    const postgres = opts.pg && opts.pg !== "pglite" ? undefined : await launcher.postgres(ports.pg);
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
  const upstreams = opts.demoUpstreams === false ? undefined : launcher.upstreams(ports);
  const dps = ports.dps.map((p, i) => {
    const slot = slotName(i);
    const zone = zoneOf(i, opts.zones ?? DEFAULT_ZONES);
    const env = dataPlaneEnv({
      ...shared,
      slot,
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
  });
  const [core, up, dataPlanes] = await allOrFirstError([pgAndCps, upstreams, allOrFirstError(dps)] as const);
  const parts = { ctx, launcher, blobUrl, pgUrl: core.pgUrl, cps: core.cps, dps: dataPlanes, upstreams: up };
  return new RunningPlatform({ ...parts, postgres: core.postgres?.process });
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
      url = String((await child.waitForJsonLine((o) => o.msg === "listening", this.#timeoutMs)).url);
    });
    return { url, process: proc };
  }

  async upstreams(ports: ResolvedPorts): Promise<{ http: string; grpc: string; process: PlatformProcess }> {
    const h = this.#host;
    const args = [DEMO_UPSTREAMS, "--host", h, "--http-port", String(ports.upstreamHttp)];
    args.push("--grpc-port", String(ports.upstreamGrpc));
    const proc = await this.#start("upstreams", "upstreams", args, {}, async (child) => {
      await child.waitForJsonLine((o) => o.msg === "listening", this.#timeoutMs);
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
    const proc = await this.#start(slot, "data-plane", [BIN, "data-plane"], full, (child) =>
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

interface RunningParts {
  ctx: LaunchContext;
  launcher: Launcher;
  blobUrl: string;
  pgUrl: string;
  cps: ControlPlaneHandle[];
  dps: DataPlaneHandle[];
  upstreams: { http: string; grpc: string; process: PlatformProcess } | undefined;
  postgres: PlatformProcess | undefined;
}

class RunningPlatform implements Platform {
  readonly dir: string;
  readonly host: string;
  readonly ports: ResolvedPorts;
  readonly pgUrl: string;
  readonly blobUrl: string;
  readonly cps: ControlPlaneHandle[];
  readonly dps: DataPlaneHandle[];
  readonly upstreams: { http: string; grpc: string; process: ProcessHandle } | undefined;
  readonly postgres: ProcessHandle | undefined;
  readonly secrets: DevSecrets;
  readonly #launcher: Launcher;
  readonly #graceMs: number | undefined;
  #stopped: Promise<void> | undefined;

  constructor(parts: RunningParts) {
    this.dir = parts.ctx.dir;
    this.host = parts.ctx.host;
    this.ports = parts.ctx.ports;
    this.secrets = parts.ctx.secrets;
    this.pgUrl = parts.pgUrl;
    this.blobUrl = parts.blobUrl;
    this.cps = parts.cps;
    this.dps = parts.dps;
    this.upstreams = parts.upstreams;
    this.postgres = parts.postgres;
    this.#launcher = parts.launcher;
    this.#graceMs = parts.ctx.opts.stopGraceMs;
  }

  get cp(): ControlPlaneHandle {
    return this.cps[0]!;
  }

  get cpUrl(): string {
    return this.cp.url;
  }

  get operatorToken(): string {
    return this.secrets.operatorToken;
  }

  get nodeToken(): string {
    return this.secrets.nodeToken;
  }

  get verifyKey(): string {
    return this.secrets.verifyKey;
  }

  processes(): ProcessHandle[] {
    return [...this.#launcher.started];
  }

  admin(): AdminClient {
    return new AdminClient({ url: this.cpUrl, token: this.operatorToken });
  }

  async waitUntilServing(path: string, apiKey: string, timeoutMs = 30_000): Promise<void> {
    const init = { headers: { "x-api-key": apiKey } };
    await Promise.all(
      this.dps
        .filter((dp) => dp.running)
        .map(async (dp) => {
          await waitForHttp(`${dp.ops}/readyz`, { timeoutMs });
          const probe = async () => (await httpStatus(`${dp.url}${path}`, init)) === 200;
          await waitFor(`${dp.name} serves GET ${path}`, probe, { timeoutMs });
        }),
    );
  }

  stop(): Promise<void> {
    this.#stopped ??= disposeAll(this.#launcher.started, this.#graceMs);
    return this.#stopped;
  }
}
