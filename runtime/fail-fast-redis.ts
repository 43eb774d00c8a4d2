/**
 * An ioredis client for the request path and its helpers: no offline queue (a command while
 * disconnected fails at once), short connect and command timeouts, no per-command retries, and
 * reconnection in the background with a capped backoff. Callers decide what a failure means
 * (keep the last demand shares, refuse an idempotent request); none of them ever waits long.
 */
import { Redis } from "ioredis";

export function failFastRedis(url: string, commandTimeoutMs: number, onError?: (err: Error) => void): Redis {
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
