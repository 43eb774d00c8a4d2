/**
 * The Redis connection of the node's shared admission state (the demand exchange, the
 * period-quota counters): no offline queue (a command while disconnected fails at once), short
 * connect and command timeouts, no per-command retries, and reconnection in the background with
 * a capped backoff. The request path never waits for Redis; the loops that use it fall back
 * to what the node knows alone.
 */
import { Redis } from "ioredis";

export function admissionRedis(url: string, commandTimeoutMs: number, onError?: (err: Error) => void): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    connectTimeout: 1000,
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
    lazyConnect: false,
  });
  redis.on("error", (err: Error) => onError?.(err));
  return redis;
}
