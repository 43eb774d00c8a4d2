/**
 * The node's long-lived connection to a control-plane replica (/sync/v1, docs/design.md §3.4): binary
 * protobuf SyncFrames, compression off, 64 KiB frames at most. Sends Hello on every connection
 * and Status periodically; hands Welcome and Announce to its handlers. A connection silent for
 * two ping intervals is dead; the node pings too, so pongs count as signs of life. Malformed
 * frames close the connection; every close ends in a reconnect with backoff and full jitter.
 */
import type { Logger } from "pino";
import WebSocket from "ws";
import {
  type Announce,
  type Hello,
  type Status,
  SyncFrame,
  type Welcome,
} from "../../proto/gen/corral/sync/v1/sync.ts";
import type { Random, TimerHandle, Timers } from "../clock.ts";
import { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF } from "./backoff.ts";

export const SYNC_PATH = "/sync/v1";
export const MAX_FRAME_BYTES = 64 * 1024;
/** Status frames per status interval at most while usage counts wait (far below the CP's frame cap) */
export const MAX_STATUS_BURST = 4;

export interface SyncHandlers {
  hello(): Hello;
  status(): Status;
  /** more usage counts wait than the last Status carried */
  statusBacklog?(): boolean;
  onWelcome(welcome: Welcome): void;
  onAnnounce(announce: Announce): void;
  /** every frame, ping or pong from the control plane */
  onContact(): void;
  onConnectionChange(connected: boolean, detail: string): void;
}

export interface SyncClientOptions {
  /** http(s)://host:port of a control-plane replica */
  cpUrl: string;
  /** this slot's node credential */
  token: string;
  /** CA certificates for a wss:// control plane, else the system's */
  ca?: Buffer;
  timers: Timers;
  random: Random;
  logger: Logger;
  handlers: SyncHandlers;
  pingIntervalMs?: number;
  statusIntervalMs?: number;
  handshakeTimeoutMs?: number;
  backoff?: BackoffPolicy;
}

/** http://cp:7400 -> ws://cp:7400/sync/v1 */
export function syncUrl(cpUrl: string): string {
  const u = new URL(cpUrl);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.pathname = `${u.pathname.replace(/\/+$/, "")}${SYNC_PATH}`;
  return u.toString();
}

export class SyncClient {
  private readonly opts: Required<Omit<SyncClientOptions, "logger" | "handlers" | "ca">>;
  private readonly ca: Buffer | undefined;
  private readonly log: Logger;
  private readonly handlers: SyncHandlers;
  private ws: WebSocket | undefined;
  private attempt = 0;
  private closed = false;
  private lastContact = 0;
  private reconnectTimer: TimerHandle | undefined;
  private liveTimer: TimerHandle | undefined;
  private statusTimer: TimerHandle | undefined;

  constructor(options: SyncClientOptions) {
    this.opts = {
      cpUrl: options.cpUrl,
      token: options.token,
      timers: options.timers,
      random: options.random,
      pingIntervalMs: options.pingIntervalMs ?? 15_000,
      statusIntervalMs: options.statusIntervalMs ?? 5_000,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
    };
    this.log = options.logger;
    this.handlers = options.handlers;
    this.ca = options.ca;
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  start(): void {
    this.closed = false;
    this.connect();
  }

  /** Sends if connected; frames for a closed connection are dropped (Hello carries the state). */
  send(frame: SyncFrame): boolean {
    if (!this.connected) return false;
    this.ws!.send(SyncFrame.encode(frame).finish());
    return true;
  }

  /** Builds the Status only when it can go out (building it takes the usage counts). */
  sendStatus(): void {
    if (this.connected) this.send({ status: this.handlers.status() });
  }

  private connect(): void {
    if (this.closed) return;
    const ws = new WebSocket(syncUrl(this.opts.cpUrl), {
      headers: { authorization: `Bearer ${this.opts.token}` },
      perMessageDeflate: false,
      maxPayload: MAX_FRAME_BYTES,
      handshakeTimeout: this.opts.handshakeTimeoutMs,
      ...(this.ca ? { ca: this.ca } : {}),
    });
    ws.binaryType = "nodebuffer";
    this.ws = ws;
    ws.on("open", () => this.onOpen(ws));
    ws.on("message", (data, isBinary) => this.onMessage(ws, data as Buffer, isBinary));
    ws.on("ping", () => this.touch());
    ws.on("pong", () => this.touch());
    ws.on("error", (err) => this.log.warn({ err: err.message }, "sync connection error"));
    ws.on("close", (code, reason) => this.onClose(ws, code, reason.toString()));
  }

  private onOpen(ws: WebSocket): void {
    this.touch();
    this.send({ hello: this.handlers.hello() });
    this.handlers.onConnectionChange(true, "connected");
    this.scheduleLiveness(ws);
    this.scheduleStatus(ws);
  }

  private touch(): void {
    this.lastContact = this.opts.timers.monotonic();
    this.handlers.onContact();
  }

  private scheduleLiveness(ws: WebSocket): void {
    const { timers, pingIntervalMs } = this.opts;
    this.liveTimer = timers.setTimeout(() => {
      if (ws !== this.ws) return;
      if (timers.monotonic() - this.lastContact > 2 * pingIntervalMs) {
        this.log.warn("control plane silent for two ping intervals: reconnecting");
        ws.terminate();
        return;
      }
      ws.ping();
      this.scheduleLiveness(ws);
    }, pingIntervalMs);
  }

  private scheduleStatus(ws: WebSocket): void {
    this.statusTimer = this.opts.timers.setTimeout(() => {
      if (ws !== this.ws) return;
      this.sendStatus();
      for (let i = 1; i < MAX_STATUS_BURST && this.handlers.statusBacklog?.(); i++) this.sendStatus();
      this.scheduleStatus(ws);
    }, this.opts.statusIntervalMs);
  }

  private onMessage(ws: WebSocket, data: Buffer, isBinary: boolean): void {
    if (ws !== this.ws) return;
    this.touch();
    let frame: SyncFrame;
    try {
      if (!isBinary) throw new Error("text frame");
      frame = SyncFrame.decode(data);
    } catch (err) {
      this.protocolViolation(ws, `malformed frame: ${(err as Error).message}`);
      return;
    }
    if (frame.welcome) {
      this.attempt = 0;
      this.handlers.onWelcome(frame.welcome);
    } else if (frame.announce) {
      this.handlers.onAnnounce(frame.announce);
    } else if (frame.hello || frame.ack || frame.nack || frame.status) {
      this.protocolViolation(ws, "frame only a node may send");
    } else if (frame.drain) {
      this.log.info({ deadlineMs: frame.drain.deadlineMs }, "drain requested (not acted on yet)");
    }
  }

  private protocolViolation(ws: WebSocket, reason: string): void {
    this.log.warn({ reason }, "sync protocol violation: closing the connection");
    ws.close(1002, reason.slice(0, 100));
    this.opts.timers.setTimeout(() => ws.terminate(), 1000);
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws) return;
    this.ws = undefined;
    this.opts.timers.clearTimeout(this.liveTimer);
    this.opts.timers.clearTimeout(this.statusTimer);
    this.handlers.onConnectionChange(false, `closed (${code}${reason ? ` ${reason}` : ""})`);
    if (this.closed) return;
    const delay = backoffDelay(this.attempt++, this.opts.backoff, this.opts.random);
    this.log.info({ code, reason, delayMs: delay }, "sync connection closed: reconnecting");
    this.reconnectTimer = this.opts.timers.setTimeout(() => this.connect(), delay);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.opts.timers.clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    if (!ws) return;
    await new Promise<void>((resolve) => {
      const done = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 1000);
      ws.once("close", () => {
        clearTimeout(done);
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1001, "node shutting down");
    });
  }
}
