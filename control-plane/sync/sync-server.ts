/**
 * The /sync/v1 endpoint (DESIGN §3.4) on the CP's HTTP server: authenticates the node
 * token on upgrade, runs one NodeConnection per node, announces every new version to
 * all ready nodes, pings every interval and refreshes last_seen of live nodes in one query.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { type IncomingMessage, type Server, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { CorralError, type ErrorCode, toProblem } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { ControlPlaneMetrics } from "../metrics.ts";
import type { VersionFeed } from "../publish/version-feed.ts";
import type { Pool } from "../store/db.ts";
import { releaseConnections, touchConnected } from "../store/nodes.ts";
import { NodeConnection } from "./node-connection.ts";

export const SYNC_PATH = "/sync/v1";
export const DEFAULT_PING_INTERVAL_MS = 15_000;
export const DEFAULT_HELLO_TIMEOUT_MS = 5_000;
export const DEFAULT_MAX_PAYLOAD = 64 * 1024;

export interface SyncServerOptions {
  pool: Pool;
  feed: VersionFeed;
  metrics: ControlPlaneMetrics;
  logger: Logger;
  cpId: string;
  nodeToken: string;
  pingIntervalMs?: number;
  helloTimeoutMs?: number;
  maxPayload?: number;
  maxConnections?: number;
  now?: () => number;
  /** a node connected or disconnected (its row is written): see NodeConnection */
  onFleetChange?: () => void;
}

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest();

export class SyncServer {
  private readonly opts: SyncServerOptions;
  private readonly wss: WebSocketServer;
  private readonly tokenHash: Buffer;
  private readonly connections = new Set<NodeConnection>();
  private readonly pingTimer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private closing = false;

  constructor(opts: SyncServerOptions) {
    this.opts = opts;
    this.tokenHash = sha256(opts.nodeToken);
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
    const refusal = this.refusal(req);
    if (refusal) {
      this.reject(socket, ...refusal);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = new NodeConnection(ws, {
        pool: this.opts.pool,
        feed: this.opts.feed,
        metrics: this.opts.metrics,
        logger: this.opts.logger,
        cpId: this.opts.cpId,
        helloTimeoutMs: this.opts.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS,
        now: this.opts.now ?? Date.now,
        onFleetChange: this.opts.onFleetChange,
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

  /** why an upgrade request is refused: [HTTP status, code, detail], or undefined to accept */
  private refusal(req: IncomingMessage): [number, ErrorCode, string?] | undefined {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== SYNC_PATH) return [404, "CORRAL_ADMIN_NOT_FOUND", `no websocket endpoint at ${path}`];
    if (this.closing) return [503, "CORRAL_SYNC_SHUTTING_DOWN"];
    if (!this.tokenMatches(req.headers.authorization)) return [401, "CORRAL_SYNC_UNAUTHENTICATED"];
    if (this.connections.size >= (this.opts.maxConnections ?? 20_000))
      return [503, "CORRAL_SYNC_TOO_MANY_CONNECTIONS"];
    return undefined;
  }

  private tokenMatches(header: string | undefined): boolean {
    const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header ?? "");
    return match !== null && timingSafeEqual(sha256(match[1]!), this.tokenHash);
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
