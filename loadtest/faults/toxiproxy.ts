import { type ChildProcess, spawn } from "node:child_process";
import { request } from "undici";
import { stopChild } from "../process/child-process.ts";
import { LoadtestError } from "../errors.ts";
import { assertLoopbackAddress } from "../generator/loopback.ts";
import { findBinary, goBinDirs } from "../net/find-binary.ts";
import { freePort, waitUntil } from "../net/free-port.ts";
import type { FaultTimeline } from "./timeline.ts";

/**
 * A private toxiproxy-server on a free loopback port, and a small client for its
 * HTTP API: network faults between the platform's processes (latency, resets,
 * timeouts, partitions). Binary: $TOXIPROXY_SERVER, PATH, or `$(go env GOPATH)/bin`.
 */
export type Proxy = { name: string; listen: string; upstream: string; enabled: boolean };

export type Toxic =
  | { type: "latency"; latencyMs: number; jitterMs?: number }
  | { type: "reset_peer"; timeoutMs?: number }
  | { type: "timeout"; timeoutMs: number }
  | { type: "bandwidth"; rateKBps: number };

export type ToxicOptions = { name?: string; stream?: "upstream" | "downstream"; toxicity?: number };

function toxicAttributes(toxic: Toxic): Record<string, number> {
  switch (toxic.type) {
    case "latency":
      return { latency: toxic.latencyMs, jitter: toxic.jitterMs ?? 0 };
    case "reset_peer":
      return { timeout: toxic.timeoutMs ?? 0 };
    case "timeout":
      return { timeout: toxic.timeoutMs };
    case "bandwidth":
      return { rate: toxic.rateKBps };
  }
}

export class Toxiproxy {
  readonly apiUrl: string;
  readonly pid: number;
  readonly #child: ChildProcess;
  readonly #timeline: FaultTimeline | undefined;

  constructor(apiUrl: string, child: ChildProcess, timeline?: FaultTimeline) {
    this.apiUrl = apiUrl;
    this.#child = child;
    this.pid = child.pid!;
    this.#timeline = timeline;
  }

  async #call<T>(method: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<T> {
    const res = await request(`${this.apiUrl}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300)
      throw new LoadtestError("CORRAL_LOADTEST_TOXIPROXY", `${method} ${path}: ${res.statusCode} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Creates a proxy in front of `upstream` ("host:port", loopback); listens on a free port unless told. */
  async createProxy(name: string, upstream: string, listen = "127.0.0.1:0"): Promise<Proxy> {
    assertLoopbackAddress(upstream);
    assertLoopbackAddress(listen);
    return this.#call<Proxy>("POST", "/proxies", { name, upstream, listen, enabled: true });
  }

  /** Adds a toxic to a proxy; returns a function that removes it (and closes its marker). */
  async addToxic(proxy: string, toxic: Toxic, options: ToxicOptions = {}): Promise<() => Promise<void>> {
    const name = options.name ?? `${toxic.type}_${options.stream ?? "downstream"}`;
    await this.#call("POST", `/proxies/${encodeURIComponent(proxy)}/toxics`, {
      name,
      type: toxic.type,
      stream: options.stream ?? "downstream",
      toxicity: options.toxicity ?? 1,
      attributes: toxicAttributes(toxic),
    });
    const end = this.#timeline?.begin(`${toxic.type} on ${proxy}`, "toxic");
    return async () => {
      await this.#call("DELETE", `/proxies/${encodeURIComponent(proxy)}/toxics/${encodeURIComponent(name)}`);
      end?.();
    };
  }

  /** Partition: disables the proxy (closes its listener and connections); returns the heal function. */
  async partition(proxy: string): Promise<() => Promise<void>> {
    await this.setEnabled(proxy, false);
    const end = this.#timeline?.begin(`partition ${proxy}`, "partition");
    return async () => {
      await this.setEnabled(proxy, true);
      end?.();
    };
  }

  async setEnabled(proxy: string, enabled: boolean): Promise<Proxy> {
    return this.#call<Proxy>("POST", `/proxies/${encodeURIComponent(proxy)}`, { enabled });
  }

  async proxies(): Promise<Record<string, Proxy>> {
    return this.#call("GET", "/proxies");
  }

  /** Enables every proxy and removes every toxic. */
  async reset(): Promise<void> {
    await this.#call("POST", "/reset");
  }

  stop(): Promise<void> {
    return stopChild(this.#child);
  }
}

export async function startToxiproxy(
  options: { timeline?: FaultTimeline; binary?: string } = {},
): Promise<Toxiproxy> {
  const binary =
    options.binary ??
    (await findBinary("toxiproxy-server", { envVar: "TOXIPROXY_SERVER", extraDirs: await goBinDirs() }));
  if (!binary)
    throw new LoadtestError(
      "CORRAL_LOADTEST_PROCESS_START",
      "toxiproxy-server not found (set TOXIPROXY_SERVER)",
    );
  const port = await freePort();
  const child = spawn(binary, ["-host", "127.0.0.1", "-port", String(port)], {
    env: { ...process.env, LOG_LEVEL: "error" },
    stdio: "ignore",
  });
  const apiUrl = `http://127.0.0.1:${port}`;
  const up = await waitUntil(async () => {
    if (child.exitCode !== null) throw new Error("exited");
    const res = await request(`${apiUrl}/version`);
    await res.body.dump();
    return res.statusCode === 200;
  }, 5000);
  if (!up) {
    child.kill("SIGKILL");
    throw new LoadtestError(
      "CORRAL_LOADTEST_PROCESS_START",
      `toxiproxy-server on port ${port} did not answer`,
    );
  }
  return new Toxiproxy(apiUrl, child, options.timeline);
}
