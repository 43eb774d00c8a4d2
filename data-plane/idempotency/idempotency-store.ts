/**
 * Where idempotency records live: Redis (CORRAL_REDIS_URL), shared by every node, so a retry
 * that lands on another node finds the first attempt. Each step is one Lua script, atomic on
 * the server, over two keys in one hash slot (idempotency-key.ts recordKeys):
 *
 *   record  hash {state, fp, owner[, status, headers, body]}, expires CORRAL_IDEMPOTENCY_TTL_S
 *           after the first attempt; state running | done | too_large | unknown
 *   lease   string = owner token, expires CORRAL_IDEMPOTENCY_LEASE_MS after its last renewal
 *
 * claim: no record -> create it running with a fresh lease ("claimed"); else a different
 * fingerprint -> "mismatch"; running with a live lease -> "in_flight"; running whose lease
 * expired (its node died or lost Redis mid-request) -> "spent" (outcome unknown: the upstream
 * may have executed it, so it is never executed again under this key); done -> "replay";
 * too_large / unknown -> "spent". finish, release and renew act only for the owner of a running
 * record. Every command fails fast (no offline queue, short timeouts): the caller then refuses
 * the request (503) rather than risk running it twice.
 */
import type { Redis } from "ioredis";
import { failFastRedis } from "../../runtime/fail-fast-redis.ts";
import type { HeaderMap } from "../pipeline/forward-headers.ts";
import { decodeAnswer, encodeHeaders, type StoredAnswer } from "./stored-answer.ts";

export interface RecordNames {
  record: string;
  lease: string;
}

export type SpentWhy = "too_large" | "unknown";

export type ClaimResult =
  | { kind: "claimed" }
  | { kind: "mismatch" }
  | { kind: "in_flight" }
  | { kind: "spent"; why: SpentWhy }
  | { kind: "replay"; answer: StoredAnswer };

/** How an attempt ended: its complete answer, or why there is none to replay. */
export type Finish =
  | { state: "done"; status: number; headers: HeaderMap; body: Buffer }
  | { state: SpentWhy };

export interface IdempotencyStore {
  claim(names: RecordNames, fingerprint: string, owner: string): Promise<ClaimResult>;
  /** false when this owner no longer holds the record */
  finish(names: RecordNames, owner: string, finish: Finish): Promise<boolean>;
  /** the request was never sent: the key is free again */
  release(names: RecordNames, owner: string): Promise<void>;
  renew(names: RecordNames, owner: string): Promise<boolean>;
  close(): Promise<void>;
}

const CLAIM = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  redis.call('HSET', KEYS[1], 'state', 'running', 'fp', ARGV[1], 'owner', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
  return {'claimed'}
end
if redis.call('HGET', KEYS[1], 'fp') ~= ARGV[1] then return {'mismatch'} end
if state == 'running' then
  if redis.call('EXISTS', KEYS[2]) == 1 then return {'in_flight'} end
  return {'spent', 'unknown'}
end
if state == 'done' then
  local a = redis.call('HMGET', KEYS[1], 'status', 'headers', 'body')
  return {'replay', a[1], a[2], a[3]}
end
return {'spent', state}`;

const OWNED = `redis.call('HGET', KEYS[1], 'owner') == ARGV[1] and redis.call('HGET', KEYS[1], 'state') == 'running'`;

const FINISH = `
if not (${OWNED}) then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'status', ARGV[3], 'headers', ARGV[4], 'body', ARGV[5])
redis.call('DEL', KEYS[2])
return 1`;

const RELEASE = `
if not (${OWNED}) then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1`;

const RENEW = `
if not (${OWNED}) then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 1`;

type Script = (record: string, lease: string, ...args: (string | number | Buffer)[]) => Promise<unknown>;

interface ScriptedRedis {
  idemClaimBuffer: Script;
  idemFinish: Script;
  idemRelease: Script;
  idemRenew: Script;
}

export interface RedisIdempotencyStoreOptions {
  url: string;
  leaseMs: number;
  ttlS: number;
  /** default 1000 ms: a request never waits longer on one command */
  commandTimeoutMs?: number;
  onError?: (err: Error) => void;
}

const text = (b: unknown) => (Buffer.isBuffer(b) ? b.toString("utf8") : String(b ?? ""));

function claimResult(reply: unknown): ClaimResult {
  const [kind, a, b, c] = Array.isArray(reply) ? reply : [];
  switch (text(kind)) {
    case "claimed":
    case "mismatch":
    case "in_flight":
      return { kind: text(kind) as "claimed" };
    case "replay": {
      const answer = Buffer.isBuffer(c) ? decodeAnswer(text(a), text(b), c) : undefined;
      return answer ? { kind: "replay", answer } : { kind: "spent", why: "unknown" };
    }
    default:
      return { kind: "spent", why: text(a) === "too_large" ? "too_large" : "unknown" };
  }
}

export class RedisIdempotencyStore implements IdempotencyStore {
  readonly #redis: Redis;
  readonly #scripts: ScriptedRedis;
  readonly #o: RedisIdempotencyStoreOptions;

  constructor(options: RedisIdempotencyStoreOptions) {
    this.#o = options;
    this.#redis = failFastRedis(options.url, options.commandTimeoutMs ?? 1000, options.onError);
    for (const [name, lua] of [
      ["idemClaim", CLAIM],
      ["idemFinish", FINISH],
      ["idemRelease", RELEASE],
      ["idemRenew", RENEW],
    ] as const)
      this.#redis.defineCommand(name, { numberOfKeys: 2, lua });
    this.#scripts = this.#redis as unknown as ScriptedRedis;
  }

  async claim(names: RecordNames, fingerprint: string, owner: string): Promise<ClaimResult> {
    const { leaseMs, ttlS } = this.#o;
    const reply = await this.#scripts.idemClaimBuffer(
      names.record,
      names.lease,
      fingerprint,
      owner,
      leaseMs,
      ttlS * 1000,
    );
    return claimResult(reply);
  }

  async finish(names: RecordNames, owner: string, finish: Finish): Promise<boolean> {
    const answer =
      finish.state === "done" ? [finish.status, encodeHeaders(finish.headers), finish.body] : [0, "{}", ""];
    return (await this.#scripts.idemFinish(names.record, names.lease, owner, finish.state, ...answer)) === 1;
  }

  async release(names: RecordNames, owner: string): Promise<void> {
    await this.#scripts.idemRelease(names.record, names.lease, owner);
  }

  async renew(names: RecordNames, owner: string): Promise<boolean> {
    return (await this.#scripts.idemRenew(names.record, names.lease, owner, this.#o.leaseMs)) === 1;
  }

  async close(): Promise<void> {
    this.#redis.disconnect(false);
  }
}

/** Without Redis the gateway cannot promise "at most once": every keyed request is refused. */
export class NoIdempotencyStore implements IdempotencyStore {
  claim(): Promise<ClaimResult> {
    return Promise.reject(new Error("no Redis configured (CORRAL_REDIS_URL)"));
  }
  async finish(): Promise<boolean> {
    return false;
  }
  async release(): Promise<void> {}
  async renew(): Promise<boolean> {
    return false;
  }
  async close(): Promise<void> {}
}
