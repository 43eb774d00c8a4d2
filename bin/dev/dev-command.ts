/**
 * `corral dev` (npm start): starts the platform, sets up the demo tenant, proves every data
 * plane serves it, writes dev.json and prints how to use it; then watches the children until
 * SIGINT/SIGTERM, when it stops them all (SIGTERM, SIGKILL after a grace period) and exits.
 *
 * Terminal output: children log full pino JSON to <dir>/logs/<name>.log; the terminal shows
 * only their warnings and errors, crashes and exits (or everything with --verbose). Three data
 * planes logging a line per request would otherwise bury the commands printed at start-up.
 */
import { rm, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { performance } from "node:perf_hooks";
import { AdminClient } from "../admin/admin-client.ts";
import type { CliIo } from "../cli/io.ts";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, reportStartError } from "../cli/run-role.ts";
import { DEV_USAGE } from "../cli/usage.ts";
import { bootstrapDemo } from "./bootstrap-demo.ts";
import { type DevJson, devJson, readyBanner } from "./dev-report.ts";
import { DevUsageError, type DevSettings, loadDevSettings, portPlanOf } from "./dev-settings.ts";
import { echoOnce } from "./echo-client.ts";
import { parseJsonLine } from "./managed-child.ts";
import { type Platform, type PlatformEvent, startPlatform } from "./platform.ts";
import { type DevSecrets, loadSecrets, saveSecrets } from "./secrets.ts";

const LEVEL_NAMES: Record<number, string> = { 40: "WARN", 50: "ERROR", 60: "FATAL" };

export async function runDevCommand(argv: string[], io: CliIo): Promise<number | undefined> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.out(DEV_USAGE);
    return EXIT_OK;
  }
  let settings: DevSettings;
  try {
    settings = loadDevSettings(argv, io.env, io.cwd);
  } catch (err) {
    if (!(err instanceof DevUsageError)) return reportStartError("dev", err, io);
    io.err(`corral dev: ${err.message}\n\n${DEV_USAGE}`);
    return EXIT_USAGE;
  }
  return new DevSession(settings, io).run();
}

class DevSession {
  readonly #s: DevSettings;
  readonly #io: CliIo;
  readonly #abort = new AbortController();
  #platform: Platform | undefined;
  #stopping = false;
  /** until every process is up, child warnings (e.g. a data plane dialing a starting CP) stay in the logs */
  #quiet = true;

  constructor(settings: DevSettings, io: CliIo) {
    this.#s = settings;
    this.#io = io;
  }

  get #dir(): string {
    return this.#s.CORRAL_DEV_DIR;
  }

  async run(): Promise<number | undefined> {
    const started = performance.now();
    process.on("SIGINT", () => this.#onSignal("SIGINT"));
    process.on("SIGTERM", () => this.#onSignal("SIGTERM"));
    this.#io.out(`corral dev: starting in ${this.#shown(this.#dir)} ...\n`);
    try {
      await this.#startAll(started);
      return undefined;
    } catch (err) {
      await this.#platform?.stop();
      if (this.#abort.signal.aborted) return EXIT_OK;
      this.#io.err(`corral dev: could not start: ${err instanceof Error ? err.message : String(err)}\n`);
      this.#io.err(`corral dev: logs are in ${this.#shown(join(this.#dir, "logs"))}\n`);
      return EXIT_FAILURE;
    }
  }

  async #startAll(started: number): Promise<void> {
    const secrets = await loadSecrets(this.#dir);
    const s = this.#s;
    this.#platform = await startPlatform({
      dir: this.#dir,
      host: s.CORRAL_DEV_HOST,
      ports: portPlanOf(s),
      dataPlanes: s.CORRAL_DEV_DATA_PLANES,
      pg: s.CORRAL_DEV_PG_URL ? { url: s.CORRAL_DEV_PG_URL } : "pglite",
      blobUrl: s.CORRAL_DEV_BLOB_URL || undefined,
      logLevel: s.CORRAL_DEV_LOG_LEVEL,
      secrets,
      readyTimeoutMs: s.CORRAL_DEV_READY_TIMEOUT_MS,
      signal: this.#abort.signal,
      onEvent: (event) => this.#report(event),
    });
    const platform = this.#platform;
    await rm(join(this.#dir, "dev.json"), { force: true }); // a crashed run's leftovers
    this.#quiet = false;
    this.#io.out(`corral dev: processes up after ${seconds(started)} s; setting up the demo tenant ...\n`);
    const demo = await this.#setUpDemo(platform, secrets);
    this.#io.out(
      `corral dev: demo tenant set up; waiting until every data plane serves ${demo.httpPath} ...\n`,
    );
    await platform.waitUntilServing(demo.httpPath, demo.apiKey, s.CORRAL_DEV_READY_TIMEOUT_MS);
    const grpcThroughGateway = await echoOnce(platform.dps[0]!.grpc, "ping", { apiKey: demo.apiKey }).then(
      () => true,
      () => false,
    );
    this.#abort.signal.throwIfAborted();
    await this.#announce(platform, demo, { started, grpcThroughGateway });
  }

  /** Writes dev.json and prints the banner. */
  async #announce(
    platform: Platform,
    demo: DevJson["demo"],
    how: { started: number; grpcThroughGateway: boolean },
  ): Promise<void> {
    const dev = devJson({
      cp: platform.cp,
      dps: platform.dps,
      upstreams: platform.upstreams!,
      operatorToken: platform.operatorToken,
      demo,
      blobUrl: platform.blobUrl,
      cwd: this.#io.cwd,
    });
    await writeFile(join(this.#dir, "dev.json"), `${JSON.stringify(dev, null, 2)}\n`, { mode: 0o600 });
    const dir = this.#shown(this.#dir);
    const banner = readyBanner({ dev, seconds: Number(seconds(how.started)), dir, ...how });
    this.#io.out(`${banner}\n`);
  }

  async #setUpDemo(platform: Platform, secrets: DevSecrets) {
    const admin = new AdminClient({ url: platform.cpUrl, token: platform.operatorToken });
    const upstreams = platform.upstreams!;
    const setup = await bootstrapDemo(
      admin,
      { http: upstreams.http, grpc: `http://${upstreams.grpc}` },
      secrets.demoApiKey,
    );
    if (setup.newKey) await saveSecrets(this.#dir, { ...secrets, demoApiKey: setup.apiKey });
    const { tenant, httpPath, grpcService } = setup;
    return { tenant, apiKey: setup.apiKey.key, httpPath, grpcService };
  }

  #report(event: PlatformEvent): void {
    if (event.type === "ready") {
      this.#io.out(
        `corral dev: ${event.name} ready in ${(event.ms / 1000).toFixed(1)} s (pid ${event.pid})\n`,
      );
      return;
    }
    if (event.type === "exit") {
      const how = event.signal ? `was killed by ${event.signal}` : `exited with code ${event.code}`;
      const log = this.#shown(event.logFile);
      this.#io.err(`corral dev: ${event.name} ${how}; the other processes keep running (log: ${log})\n`);
      return;
    }
    if (!this.#s.CORRAL_DEV_VERBOSE && this.#quiet) return;
    const line = this.#s.CORRAL_DEV_VERBOSE ? event.line : summaryOf(event.line, event.stream);
    if (line !== undefined) this.#io.err(`[${event.name}] ${line}\n`);
  }

  #onSignal(signal: NodeJS.Signals): void {
    if (this.#stopping) {
      this.#io.err(`corral dev: ${signal} again: killing everything now\n`);
      for (const p of this.#platform?.processes() ?? []) p.kill("SIGKILL");
      process.exit(130);
    }
    this.#stopping = true;
    this.#io.err(`\ncorral dev: ${signal}: stopping every process ...\n`);
    this.#abort.abort();
    const platform = this.#platform;
    if (!platform) return; // still starting: startPlatform stops what it started and run() returns
    void this.#stopAndExit(platform);
  }

  async #stopAndExit(platform: Platform): Promise<void> {
    await platform.stop();
    await rm(join(this.#dir, "dev.json"), { force: true });
    this.#io.err("corral dev: stopped\n");
    process.exit(EXIT_OK);
  }

  #shown(path: string): string {
    const rel = relative(this.#io.cwd, path);
    return rel && !rel.startsWith("..") ? rel : path;
  }
}

/** A warning or error from a child's output as one short line, or undefined for routine lines. */
export function summaryOf(line: string, stream: "stdout" | "stderr"): string | undefined {
  const obj = parseJsonLine(line);
  if (!obj) return stream === "stderr" && line.trim() !== "" ? line : undefined;
  const level = typeof obj.level === "number" ? obj.level : 30;
  if (level < 40) return undefined;
  const err = obj.err as { message?: string } | undefined;
  const detail = err?.message ? `: ${err.message}` : "";
  return `${LEVEL_NAMES[Math.min(60, Math.floor(level / 10) * 10)] ?? "WARN"} ${String(obj.msg ?? "")}${detail}`;
}

function seconds(since: number): string {
  return ((performance.now() - since) / 1000).toFixed(1);
}
