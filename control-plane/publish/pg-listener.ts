/**
 * A dedicated Postgres connection that LISTENs on a few channels and reconnects (backoff
 * 100 ms doubling to 5 s) when the connection drops. After every (re)connect it tells its
 * subscribers, who catch up by querying: notifications sent while it was away are lost.
 */
import pg from "pg";
import type { Logger } from "../logger.ts";

export interface ListenerHandlers {
  notification(channel: string, payload: string | undefined): void;
  /** connected (again): anything may have been missed */
  connected(): void;
}

export interface PgListenerOptions {
  url: string;
  channels: readonly string[];
  logger: Logger;
  applicationName?: string;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export class PgListener {
  private readonly opts: PgListenerOptions;
  private readonly handlers: ListenerHandlers;
  private client: pg.Client | undefined;
  private readonly gone = new WeakSet<pg.Client>();
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;

  constructor(opts: PgListenerOptions, handlers: ListenerHandlers) {
    for (const c of opts.channels) {
      if (!/^[a-z_][a-z0-9_]*$/.test(c)) throw new Error(`invalid channel name ${c}`);
    }
    this.opts = opts;
    this.handlers = handlers;
  }

  get listening(): boolean {
    return this.client !== undefined;
  }

  /** Connects in the background; resolves after the first attempt (failed or not). */
  async start(): Promise<void> {
    await this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({
      connectionString: this.opts.url,
      application_name: this.opts.applicationName ?? "corral-cp listener",
      connectionTimeoutMillis: 5000,
      keepAlive: true,
    });
    client.on("error", (err) => this.dropped(client, err));
    client.on("end", () => this.dropped(client));
    client.on("notification", (n) => this.handlers.notification(n.channel, n.payload));
    try {
      await client.connect();
      for (const channel of this.opts.channels) await client.query(`LISTEN ${channel}`);
    } catch (err) {
      this.dropped(client, err as Error);
      return;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    if (this.failures > 0) this.opts.logger.info({ channels: this.opts.channels }, "listening again");
    this.failures = 0;
    this.handlers.connected();
  }

  /** Called once per lost client (error and end may both fire): schedules a reconnect. */
  private dropped(client: pg.Client, err?: Error): void {
    if (this.gone.has(client)) return;
    this.gone.add(client);
    if (this.client === client) this.client = undefined;
    client.end().catch(() => {});
    if (this.closed) return;
    const base = this.opts.baseDelayMs ?? 100;
    const delay = Math.min(this.opts.maxDelayMs ?? 5000, base * 2 ** Math.min(this.failures, 10));
    this.failures++;
    this.opts.logger.warn({ err, retryMs: delay }, "notification connection lost; reconnecting");
    this.timer = setTimeout(() => void this.connect(), delay);
    this.timer.unref();
  }
}
