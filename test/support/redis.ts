/** A private Redis on a free loopback port, or the one named by CORRAL_TEST_REDIS_URL. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBinary } from "./binaries.ts";
import { type ChildHandle, startChild } from "./child.ts";
import { freePort } from "./ports.ts";
import { waitForPort } from "./ports.ts";

export interface RedisServer {
  url: string;
  port: number;
  pid?: number;
  /** stops the server (a later start() brings it back on the same port) */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** stops and removes everything */
  destroy(): Promise<void>;
}

export interface RedisOptions {
  /** append-only file, fsync on every write: what a store that must survive restarts needs */
  persistent?: boolean;
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const given = process.env.CORRAL_TEST_REDIS_URL;
  if (given) {
    const noop = async () => {};
    return { url: given, port: Number(new URL(given).port || 6379), stop: noop, start: noop, destroy: noop };
  }
  const dir = await mkdtemp(join(tmpdir(), "corral-redis-"));
  const port = await freePort();
  const bin = findBinary("redis-server");
  let child: ChildHandle | undefined;
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      child = startChild(bin, [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        options.persistent ? "yes" : "no",
        "--appendfsync",
        "always",
        "--dir",
        dir,
      ]);
      server.pid = child.proc.pid;
      await waitForPort(port, 10_000);
    },
    async stop() {
      await child?.stop();
      child = undefined;
    },
    async destroy() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
