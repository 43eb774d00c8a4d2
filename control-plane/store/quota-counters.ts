/**
 * The nodes' period-quota counters in Redis (keys: runtime/quota-keys.ts), read-only for the
 * CP: GET usage reads "used" from them. No offline queue and short timeouts: a read while Redis
 * is away fails at once and the reader answers from the metering rows instead.
 */
import { Redis } from "ioredis";

export interface QuotaCounterStore {
  get(key: string): Promise<string | null>;
  close(): Promise<void>;
}

export function openQuotaCounters(url: string, onError: (err: Error) => void): QuotaCounterStore {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    connectTimeout: 1000,
    commandTimeout: 500,
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
  });
  redis.on("error", onError);
  return {
    get: (key) => redis.get(key),
    close: async () => {
      redis.disconnect(false);
    },
  };
}
