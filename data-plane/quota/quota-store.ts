/**
 * Where shard members add up their period-quota counts (docs/design.md §5.6): one Redis string
 * per counter, named by runtime/quota-keys.ts. A flush is one pipelined round trip: for each
 * counter with new counts INCRBY and PEXPIREAT (its period's end plus slack, so nothing is left
 * behind), for each counter only read GET. Replies are external input: anything but a
 * non-negative integer counts as a failed command for that counter (its counts stay pending);
 * a flush whose every command failed fails as a whole.
 */
import type { Redis } from "ioredis";
import { failFastRedis } from "../../runtime/fail-fast-redis.ts";
import type { FlushItem } from "../admission/period-quota.ts";

export interface QuotaStore {
  /** Adds each item's count and returns each counter's total (undefined where a command failed). */
  add(items: readonly FlushItem[]): Promise<(number | undefined)[]>;
  close(): Promise<void>;
}

/** A counter's value as Redis answered it, or undefined. */
export function parseCount(reply: unknown): number | undefined {
  if (reply === null) return 0;
  const n =
    typeof reply === "number"
      ? reply
      : typeof reply === "string" && /^\d{1,15}$/.test(reply)
        ? Number(reply)
        : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

export interface RedisQuotaStoreOptions {
  url: string;
  /** default 500 ms: a flush never waits longer for Redis */
  commandTimeoutMs?: number;
  onError?: (err: Error) => void;
}

/** Over failFastRedis: a flush while Redis is unreachable fails at once (the ledger goes local). */
export class RedisQuotaStore implements QuotaStore {
  readonly #redis: Redis;

  constructor(options: RedisQuotaStoreOptions) {
    this.#redis = failFastRedis(options.url, options.commandTimeoutMs ?? 500, options.onError);
  }

  async add(items: readonly FlushItem[]): Promise<(number | undefined)[]> {
    const pipeline = this.#redis.pipeline();
    const replyAt: number[] = [];
    for (const { key, add, expireAtMs } of items) {
      replyAt.push(pipeline.length);
      if (add > 0) pipeline.incrby(key, add).pexpireat(key, expireAtMs);
      else pipeline.get(key);
    }
    const results = await pipeline.exec();
    if (!results) throw new Error("quota flush: no replies");
    const errors: Error[] = [];
    const totals = replyAt.map((at) => {
      const [err, reply] = results[at] ?? [new Error("missing reply")];
      if (err) errors.push(err);
      return err ? undefined : parseCount(reply);
    });
    if (errors.length === items.length && errors[0]) throw errors[0]; // nothing reached Redis
    return totals;
  }

  async close(): Promise<void> {
    this.#redis.disconnect(false);
  }
}
