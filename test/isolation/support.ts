/**
 * Shared set-up of the tenant-isolation end-to-end tests: a real platform (startPlatform) on a
 * private Postgres (and Redis when asked), tenants created through the admin API, their shards
 * read from the nodes' placement endpoint, and small HTTP helpers.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import type { AdminClient } from "../../bin/admin/admin-client.ts";
import { type Platform, startPlatform } from "../../bin/dev/platform.ts";
import { startPostgres, type TestPostgres } from "../support/postgres.ts";
import { type RedisServer, startRedis } from "../support/redis.ts";
import { poll } from "../support/poll.ts";
import { listenOnLoopback } from "../support/http-server.ts";

export interface IsolationPlatform {
  platform: Platform;
  admin: AdminClient;
  redis: RedisServer | undefined;
  stop(): Promise<void>;
}

export interface PlatformSpec {
  dataPlanes: number;
  redis?: boolean;
  demoUpstreams?: boolean;
  dpEnv?: Record<string, string>;
  cpEnv?: Record<string, string>;
}

/** A platform with every data plane registered and live in the fleet. */
export async function isolationPlatform(spec: PlatformSpec): Promise<IsolationPlatform> {
  const dir = await mkdtemp(join(tmpdir(), "corral-isolation-"));
  let postgres: TestPostgres | undefined;
  let redis: RedisServer | undefined;
  let platform: Platform | undefined;
  const stop = async () => {
    await platform?.stop();
    await Promise.all([postgres?.stop(), redis?.destroy()]);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    [postgres, redis] = await Promise.all([startPostgres(), spec.redis ? startRedis() : undefined]);
    platform = await startPlatform({
      dir,
      ports: "free",
      dataPlanes: spec.dataPlanes,
      pg: { url: postgres.url },
      demoUpstreams: spec.demoUpstreams ?? false,
      logLevel: "warn",
      stopGraceMs: 3000,
      cpEnv: spec.cpEnv,
      dpEnv: {
        CORRAL_POLL_INTERVAL_MS: "30000", // config comes by Announce; a pull re-verifies the whole blob
        ...(redis ? { CORRAL_REDIS_URL: redis.url } : {}),
        ...spec.dpEnv,
      },
    });
    const admin = platform.admin();
    await poll("every slot live", async () => {
      const { items } = await admin.get<{ items: { live: boolean; inFleet: boolean }[] }>("/admin/v1/slots");
      return items.length === spec.dataPlanes && items.every((s) => s.live && s.inFleet);
    });
    return { platform, admin, redis, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface Member {
  slot: string;
  zone: string;
  url: string;
  live: boolean;
}

export async function getJson(url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { headers, headersTimeout: 5000, bodyTimeout: 5000 });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    body: text ? (JSON.parse(text) as unknown) : undefined,
  };
}

/** The tenant's shard as a node reports it. */
export async function shardOf(nodeUrl: string, tenant: string, key: string): Promise<Member[]> {
  const res = await getJson(`${nodeUrl}/.well-known/corral/placement/${tenant}`, { "x-api-key": key });
  if (res.status !== 200) throw new Error(`placement of ${tenant}: ${res.status}`);
  return (res.body as { shard: Member[] }).shard;
}

/** Waits until every running node reports the tenant's shard with k live members. */
export async function waitForShard(platform: Platform, tenant: string, key: string, k: number) {
  await poll(`${tenant}'s shard of ${k} on every node`, async () => {
    for (const dp of platform.dps.filter((d) => d.running)) {
      const shard = await shardOf(dp.url, tenant, key);
      if (shard.length !== k || !shard.every((m) => m.live)) return false;
    }
    return true;
  });
  return shardOf(platform.dps[0]!.url, tenant, key);
}

export interface TestUpstream {
  url: string;
  /** requests seen, by path */
  seen: Map<string, number>;
  close(): Promise<void>;
}

/** An HTTP upstream in this process; `handle` may answer, else 200 "ok". */
export async function testUpstream(
  handle?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>,
): Promise<TestUpstream> {
  const seen = new Map<string, number>();
  const server: Server = createServer(async (req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    seen.set(path, (seen.get(path) ?? 0) + 1);
    req.resume();
    if (handle && (await handle(req, res))) return;
    res.writeHead(200, { "content-type": "text/plain" }).end("ok");
  });
  server.keepAliveTimeout = 65_000;
  return { ...(await listenOnLoopback(server)), seen };
}

/** Status and corral-reason of one request. */
export async function call(url: string, key: string, headers: Record<string, string> = {}) {
  const res = await request(url, {
    headers: { "x-api-key": key, ...headers },
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  await res.body.dump();
  return { status: res.statusCode, reason: String(res.headers["corral-reason"] ?? ""), headers: res.headers };
}
