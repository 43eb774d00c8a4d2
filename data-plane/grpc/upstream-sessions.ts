/**
 * One HTTP/2 client session per upstream target, shared by every call to it (streams multiplex
 * over the one connection). A session counts as ready once the upstream's SETTINGS arrived, so
 * its stream limit is known (nghttp2 then queues streams beyond it instead of having them
 * refused). A session that gets GOAWAY, fails or closes is forgotten and the next call dials a
 * new one; calls already on it finish. Each call's target is the balancer's over the node's down
 * list (upstream/upstream-upkeep.ts); sessions unused for a while are closed. A session connects only
 * where the egress policy it was dialled for allows (egress/egress-connect.ts); tenants with
 * different policies never share one.
 */
import { type ClientHttp2Session, connect } from "node:http2";
import { CodedError } from "../../proto/coded-error.ts";
import type { EgressPolicy } from "../../proto/egress-policy.ts";
import type { Timers } from "../clock.ts";
import { egressSessionOptions } from "../egress/egress-connect.ts";
import type { PlainTarget } from "../model/plain-config.ts";
import { type Balanced, BalancedConnections } from "../upstream/balanced-connections.ts";
import type { TargetLease, UpkeepOptions } from "../upstream/upstream-upkeep.ts";

/**
 * HTTP/2 flow-control windows for a proxy: the defaults (64 KiB per stream and per connection)
 * cap a connection carrying many calls at one window per round trip. Bytes within a window may
 * sit in the node's buffers while the other side is slow, so the windows also bound memory.
 */
export const FLOW_WINDOWS = Object.freeze({ streamBytes: 1024 * 1024, sessionBytes: 16 * 1024 * 1024 });

export interface SessionOptions extends UpkeepOptions {
  /** memory nghttp2 may use per session, MB (node's maxSessionMemory) */
  maxSessionMemoryMb?: number;
}

export class ConnectError extends CodedError {}

interface SessionEntry {
  readonly session: ClientHttp2Session;
  readonly ready: Promise<void>;
  isReady: boolean;
  lastUsed: number;
}

export interface PickedSession {
  target: PlainTarget;
  session: ClientHttp2Session;
  /** undefined once the session is ready; else settles when it is (rejects with a ConnectError) */
  ready: Promise<void> | undefined;
}

/** A session to the target the balancer chose (`pick`, dialled if needed): its lease says how the call went. */
export type BalancedSession = Balanced<PickedSession>;

export class UpstreamSessions extends BalancedConnections<PickedSession> {
  /** origin + " " + egress policy key -> session */
  private readonly entries = new Map<string, SessionEntry>();
  private readonly maxSessionMemoryMb: number;

  constructor(timers: Timers, opts: SessionOptions = {}) {
    super(timers, opts);
    this.maxSessionMemoryMb = opts.maxSessionMemoryMb ?? 32;
  }

  get size(): number {
    return this.entries.size;
  }

  protected connectTo(lease: TargetLease, egress: EgressPolicy, connectTimeoutMs: number): BalancedSession {
    return { ...this.sessionTo(lease.target, egress, connectTimeoutMs), lease };
  }

  /** The session to one given target (a shard member): no balancing. */
  sessionTo(target: PlainTarget, egress: EgressPolicy, connectTimeoutMs: number): PickedSession {
    const now = this.upkeep.timers.monotonic();
    const key = `${target.origin} ${egress.key}`;
    let entry = this.entries.get(key);
    if (!entry || entry.session.closed || entry.session.destroyed) {
      entry = this.dial(key, target.origin, egress, connectTimeoutMs, now);
    }
    entry.lastUsed = now;
    return { target, session: entry.session, ready: entry.isReady ? undefined : entry.ready };
  }

  /** Waits until a picked session is ready: undefined when it can carry calls, else the connect error. */
  async whenReady(picked: PickedSession): Promise<ConnectError | undefined> {
    if (!picked.ready) return undefined;
    try {
      await picked.ready;
      return undefined;
    } catch (err) {
      return err as ConnectError;
    }
  }

  private dial(
    key: string,
    origin: string,
    egress: EgressPolicy,
    connectTimeoutMs: number,
    now: number,
  ): SessionEntry {
    const session = connect(origin, {
      settings: { enablePush: false, initialWindowSize: FLOW_WINDOWS.streamBytes },
      maxSessionMemory: this.maxSessionMemoryMb,
      ...egressSessionOptions({ policy: egress, onDenied: this.upkeep.onEgressDenied }, origin),
    });
    session.once("connect", () => session.setLocalWindowSize(FLOW_WINDOWS.sessionBytes));
    const entry: SessionEntry = {
      session,
      ready: settled(session, connectTimeoutMs),
      isReady: false,
      lastUsed: now,
    };
    entry.ready.then(
      () => {
        entry.isReady = true;
      },
      () => this.forget(key, session),
    );
    const forget = () => this.forget(key, session);
    session.on("goaway", forget).on("close", forget).on("error", forget);
    this.entries.set(key, entry);
    return entry;
  }

  private forget(key: string, session: ClientHttp2Session): void {
    if (this.entries.get(key)?.session === session) this.entries.delete(key);
  }

  /** Gracefully closes sessions unused for idleCloseMs (streams in flight on them finish). */
  closeIdle(): void {
    const now = this.upkeep.timers.monotonic();
    for (const [key, entry] of this.entries) {
      if (!this.upkeep.idle(entry.lastUsed, now)) continue;
      this.entries.delete(key);
      entry.session.close();
    }
  }

  /** Closes every session: streams still open get up to graceMs, then are cut. */
  async close(graceMs = 1_000): Promise<void> {
    this.upkeep.stop();
    const sessions = [...this.entries.values()].map((e) => e.session);
    this.entries.clear();
    await Promise.all(sessions.map((s) => closeSession(s, graceMs)));
  }
}

/** Resolves when the upstream's SETTINGS arrive; rejects on error, close or connect timeout. */
function settled(session: ClientHttp2Session, connectTimeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      session.destroy(new ConnectError("ETIMEDOUT", `no connection within ${connectTimeoutMs} ms`));
    }, connectTimeoutMs);
    const fail = (err?: Error) => {
      clearTimeout(timer);
      const code = (err as { code?: string } | undefined)?.code ?? "ECONNRESET";
      reject(new ConnectError(code, err?.message ?? "the connection closed before it was ready"));
    };
    session.once("remoteSettings", () => {
      clearTimeout(timer);
      session.off("error", fail).off("close", fail);
      resolve();
    });
    session.once("error", fail).once("close", fail);
  });
}

function closeSession(session: ClientHttp2Session, graceMs: number): Promise<void> {
  if (session.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const cut = setTimeout(() => session.destroy(), graceMs);
    session.once("close", () => {
      clearTimeout(cut);
      resolve();
    });
    if (!session.closed) session.close();
  });
}
