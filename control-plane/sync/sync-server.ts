/**
 * The /sync/v1 endpoint (docs/design.md §3.4) on the CP's HTTP server: on upgrade, verifies the
 * node's per-slot credential (proto/node-credential.ts) and refuses a new slot beyond the
 * fleet's slot limit; runs one NodeConnection per node, bound to its credential's slot;
 * announces every new version to all ready nodes, pings every interval and refreshes
 * last_seen of live nodes in one query.
 */
import { type IncomingMessage, type Server, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { verifyNodeCredential } from "../../proto/node-credential.ts";
import { CorralError, type ErrorCode, toProblem } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { ControlPlaneMetrics } from "../metrics.ts";
import type { VersionFeed } from "../publish/version-feed.ts";
import type { Pool } from "../store/db.ts";
import { releaseConnections, slotAdmissible, touchConnected } from "../store/nodes.ts";
import { type ConnectionContext, NodeConnection } from "./node-connection.ts";

export const SYNC_PATH = "/sync/v1";
export const DEFAULT_PING_INTERVAL_MS = 15_000;
export const DEFAULT_HELLO_TIMEOUT_MS = 5_000;
export const DEFAULT_MAX_PAYLOAD = 64 * 1024;
export const DEFAULT_MAX_SLOTS = 256;
export const DEFAULT_MAX_FRAMES_PER_SEC = 50;

export interface SyncServerOptions {
  pool: Pool;
  feed: VersionFeed;
  metrics: ControlPlaneMetrics;
  logger: Logger;
  cpId: string;
  /** CORRAL_NODE_SECRET: verifies every slot's node credential */
  nodeSecret: string;
  maxSlots?: number;
  maxFramesPerSec?: number;
  pingIntervalMs?: number;
  helloTimeoutMs?: number;
  maxPayload?: number;
  maxConnections?: number;
  now?: () => number;
  /** a node connected or disconnected (its row is written): see NodeConnection */
  onFleetChange?: () => void;
  /** which of these tenants have the slot in their shard: usage is taken only from members */
  shardMembers: ConnectionContext["shardMembers"];
}

type Refusal = [number, ErrorCode, string?];

export class SyncServer {
  private readonly opts: SyncServerOptions;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<NodeConnection>();
  private readonly pingTimer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private closing = false;

  constructor(opts: SyncServerOptions) {
    this.opts = opts;
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: opts.maxPayload ?? DEFAULT_MAX_PAYLOAD,
      clientTracking: false,
    });
    this.pingTimer = setInterval(() => this.heartbeat(), opts.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS);
    this.pingTimer.unref();
    this.unsubscribe = opts.feed.subscribe((v) => {
      for (const c of this.connections) c.announce(v);
    });
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  attach(server: Server): void {
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.handleUpgrade(req, socket, head),
    );
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    void this.admit(req).then((admitted) => {
      if (typeof admitted === "string") this.accept(req, socket, head, admitted);
      else this.reject(socket, ...admitted);
    });
  }

  private accept(req: IncomingMessage, socket: Duplex, head: Buffer, slot: string): void {
    if (this.closing) {
      this.reject(socket, 503, "CORRAL_SYNC_SHUTTING_DOWN");
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = new NodeConnection(ws, {
        pool: this.opts.pool,
        feed: this.opts.feed,
        metrics: this.opts.metrics,
        logger: this.opts.logger,
        cpId: this.opts.cpId,
        slot,
        maxSlots: this.maxSlots,
        maxFramesPerSec: this.opts.maxFramesPerSec ?? DEFAULT_MAX_FRAMES_PER_SEC,
        helloTimeoutMs: this.opts.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS,
        now: this.opts.now ?? Date.now,
        onFleetChange: this.opts.onFleetChange,
        shardMembers: this.opts.shardMembers,
      });
      this.connections.add(conn);
      this.opts.metrics.syncConnections.set(this.connections.size);
      void conn.closed.then(() => {
        this.connections.delete(conn);
        this.opts.metrics.syncConnections.set(this.connections.size);
      });
    });
  }

  /** Closes every connection (1001), waits for their database writes, forgets this replica's nodes. */
  async close(timeoutMs = 2_000): Promise<void> {
    this.closing = true;
    clearInterval(this.pingTimer);
    this.unsubscribe();
    const all = [...this.connections];
    for (const c of all) c.close("CORRAL_SYNC_SHUTTING_DOWN");
    const timer = setTimeout(() => {
      for (const c of all) c.terminate();
    }, timeoutMs);
    await Promise.all(all.map((c) => c.closed));
    clearTimeout(timer);
    this.wss.close();
    await releaseConnections(this.opts.pool, this.opts.cpId).catch((err) =>
      this.opts.logger.warn({ err }, "could not release node connections"),
    );
  }

  private heartbeat(): void {
    const live: string[] = [];
    for (const c of this.connections) {
      c.heartbeat();
      if (c.ready && c.missedPongs <= 1) live.push(c.id);
    }
    touchConnected(this.opts.pool, this.opts.cpId, live).catch((err) =>
      this.opts.logger.warn({ err }, "could not refresh node last_seen"),
    );
  }

  private get maxSlots(): number {
    return this.opts.maxSlots ?? DEFAULT_MAX_SLOTS;
  }

  /** the slot an upgrade request's credential names, or why it is refused: [HTTP status, code, detail] */
  private async admit(req: IncomingMessage): Promise<string | Refusal> {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== SYNC_PATH) return [404, "CORRAL_ADMIN_NOT_FOUND", `no websocket endpoint at ${path}`];
    if (this.closing) return [503, "CORRAL_SYNC_SHUTTING_DOWN"];
    const slot = this.credentialSlot(req.headers.authorization);
    if (slot === undefined) {
      this.opts.logger.warn(
        { remote: req.socket.remoteAddress },
        "sync upgrade without a valid node credential",
      );
      return [401, "CORRAL_SYNC_UNAUTHENTICATED"];
    }
    if (this.connections.size >= (this.opts.maxConnections ?? 20_000))
      return [503, "CORRAL_SYNC_TOO_MANY_CONNECTIONS"];
    // A database failure does not refuse here: registering at Hello checks the limit again.
    const admissible = await slotAdmissible(this.opts.pool, slot, this.maxSlots).catch(() => true);
    if (!admissible) {
      this.opts.logger.warn(
        { slot, maxSlots: this.maxSlots },
        "sync upgrade for a new slot beyond the slot limit",
      );
      return [403, "CORRAL_SYNC_SLOT_LIMIT", `the fleet already has ${this.maxSlots} slots`];
    }
    return slot;
  }

  private credentialSlot(header: string | undefined): string | undefined {
    const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header ?? "");
    return match ? verifyNodeCredential(this.opts.nodeSecret, match[1]!) : undefined;
  }

  private reject(socket: Duplex, status: number, code: ErrorCode, detail?: string): void {
    this.opts.metrics.syncRejected.inc({ code });
    const body = JSON.stringify(toProblem(new CorralError(code, detail)));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n` +
        `Content-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
}
