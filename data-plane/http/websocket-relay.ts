/**
 * Relays an open WebSocket between a client and its upstream (or the shard member that serves
 * it), both `ws` sockets: messages, pings and pongs go across as they come, close codes too.
 *
 * Backpressure: a side whose peer has more than HIGH_WATER bytes queued stops being read
 * (ws pause(): its TCP window closes, so the sender slows down) until the peer's queue is back
 * under LOW_WATER. What the node buffers per direction is bounded by HIGH_WATER plus a
 * message or two of the route's largest size (both sockets refuse larger ones with 1009).
 *
 * A socket with no message, ping or pong either way for the route's idle timeout is closed
 * with 1001 on both sides. A protocol error of the upstream (garbage after the 101, a frame
 * past the size bound) closes the client with 1014 (bad gateway); an abnormal end of either
 * side closes the other (1014 towards the client, 1001 towards the upstream).
 */
import type { RawData, WebSocket } from "ws";
import type { ClosableSocket } from "../pipeline/open-sockets.ts";
import type { SocketDirection, WebSocketMetrics } from "../ops/websocket-metrics.ts";

export const HIGH_WATER = 1024 * 1024;
export const LOW_WATER = 256 * 1024;

/** Close codes an endpoint may send (RFC 6455 §7.4; 1004-1006 and 1015 are reserved). */
export function sendableCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

export interface RelayOptions {
  idleTimeoutMs: number;
  metrics: WebSocketMetrics;
  /** called once, when both sides are closed */
  onClosed: (why: string) => void;
}

export class WebSocketRelay implements ClosableSocket {
  readonly #client: WebSocket;
  readonly #upstream: WebSocket;
  readonly #o: RelayOptions;
  readonly #idle: NodeJS.Timeout;
  #why: string | undefined;
  #open = 2;

  constructor(client: WebSocket, upstream: WebSocket, options: RelayOptions) {
    this.#client = client;
    this.#upstream = upstream;
    this.#o = options;
    this.#idle = setTimeout(() => this.close(1001, "idle timeout", "idle"), options.idleTimeoutMs);
    this.#pipe(client, upstream, "to_upstream");
    this.#pipe(upstream, client, "to_client");
    // an upstream that broke the protocol gets no closing handshake: it is cut, the client told 1014
    upstream.on("error", () => {
      this.#why ??= "upstream_error";
      client.close(1014, "bad upstream");
      upstream.terminate();
    });
    client.on("error", () => {
      this.#why ??= "client_error";
    });
  }

  /** Closes both sides with `code` (route removed, tenant suspended, node draining, idle). */
  close(code: number, reason: string, why = "going_away"): void {
    this.#why ??= why;
    this.#client.close(code, reason);
    this.#upstream.close(code, reason);
  }

  #pipe(from: WebSocket, to: WebSocket, direction: SocketDirection): void {
    const { metrics } = this.#o;
    let paused = false;
    const drained = () => {
      if (paused && to.bufferedAmount <= LOW_WATER) {
        paused = false;
        from.resume();
      }
    };
    from.on("message", (data: RawData, isBinary: boolean) => {
      this.#idle.refresh();
      const size = byteLength(data);
      metrics.frame(direction, size);
      if (to.readyState !== to.OPEN) return;
      to.send(data, { binary: isBinary }, drained);
      if (!paused && to.bufferedAmount > HIGH_WATER) {
        paused = true;
        from.pause();
      }
    });
    from.on("ping", (data) => {
      this.#idle.refresh();
      if (to.readyState === to.OPEN) to.ping(data);
    });
    from.on("pong", (data) => {
      this.#idle.refresh();
      if (to.readyState === to.OPEN) to.pong(data);
    });
    from.on("close", (code: number, reason: Buffer) => {
      this.#closeOther(to, code, reason, direction);
      if (--this.#open === 0) this.#closed();
    });
  }

  /** `from` closed with `code`: the other side gets the same code when it may be sent. */
  #closeOther(to: WebSocket, code: number, reason: Buffer, direction: SocketDirection): void {
    if (to.readyState === to.CLOSED) return;
    const fromUpstream = direction === "to_client";
    this.#why ??= fromUpstream ? "upstream" : "client";
    const failed = fromUpstream && this.#why === "upstream_error";
    if (failed) to.close(1014, "bad upstream");
    else if (sendableCode(code)) to.close(code, reason);
    else if (code === 1005) to.close();
    else to.close(fromUpstream ? 1014 : 1001, fromUpstream ? "upstream went away" : "client went away");
  }

  #closed(): void {
    clearTimeout(this.#idle);
    this.#o.onClosed(this.#why ?? "closed");
  }
}

function byteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return (data as Buffer | ArrayBuffer).byteLength;
}
