/**
 * Throttles failed authentications per source. A source is the peer address (IPv6: its /64, which
 * one host usually owns whole). After `limit` failures within `windowMs` of its first failure, a
 * source is refused — without its credentials being checked — until that window ends. Only
 * presented credentials that do not authenticate count; a success does not reset the count.
 * Memory is bounded: at most `maxSources` sources are remembered, the least recently failed
 * forgotten first. Pure apart from the injected clock; one instance per API (admin, tenant).
 */
import { isIPv6 } from "node:net";
import { CorralError } from "../errors.ts";

export interface ThrottleSettings {
  /** failures allowed per source within one window */
  limit: number;
  windowMs: number;
  /** sources remembered at most */
  maxSources: number;
}

interface Failures {
  since: number;
  count: number;
}

export class FailedAuthThrottle {
  readonly #settings: ThrottleSettings;
  readonly #now: () => number;
  readonly #sources = new Map<string, Failures>();

  constructor(settings: ThrottleSettings, now: () => number = Date.now) {
    this.#settings = settings;
    this.#now = now;
  }

  get size(): number {
    return this.#sources.size;
  }

  /** ms until `source` may authenticate again; 0 when it may now. */
  retryAfterMs(source: string): number {
    const entry = this.#current(source);
    if (!entry || entry.count < this.#settings.limit) return 0;
    return entry.since + this.#settings.windowMs - this.#now();
  }

  recordFailure(source: string): void {
    const entry = this.#current(source) ?? { since: this.#now(), count: 0 };
    entry.count += 1;
    this.#sources.delete(source); // re-inserted last: the Map's order is least recently failed first
    this.#sources.set(source, entry);
    if (this.#sources.size > this.#settings.maxSources) {
      this.#sources.delete(this.#sources.keys().next().value!);
    }
  }

  /**
   * Runs `check` for a request from `source` unless the source is throttled (then throws
   * CORRAL_ADMIN_AUTH_THROTTLED with `retryAfterSeconds`); a check answering undefined is a
   * failure.
   */
  async guard<T>(source: string, check: () => Promise<T | undefined>): Promise<T | undefined> {
    const waitMs = this.retryAfterMs(source);
    if (waitMs > 0) {
      const retryAfterSeconds = Math.ceil(waitMs / 1000);
      throw new CorralError(
        "CORRAL_ADMIN_AUTH_THROTTLED",
        `too many failed authentications from this address; retry in ${retryAfterSeconds} s`,
        { retryAfterSeconds },
      );
    }
    const result = await check();
    if (result === undefined) this.recordFailure(source);
    return result;
  }

  #current(source: string): Failures | undefined {
    const entry = this.#sources.get(source);
    if (entry && this.#now() - entry.since >= this.#settings.windowMs) {
      this.#sources.delete(source);
      return undefined;
    }
    return entry;
  }
}

/** The throttling key of a peer address: IPv4 as is (also when IPv4-mapped), IPv6 by its /64. */
export function sourceOf(address: string | undefined): string {
  if (!address) return "unknown";
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const [head = "", tail = ""] = address.toLowerCase().split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = address.includes("::")
    ? [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}
