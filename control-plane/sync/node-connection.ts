/**
 * One data-plane node's /sync/v1 connection: waits for Hello (answers Welcome), then
 * takes Ack / Nack / Status and sends Announce. Database writes for the node run in
 * order on a per-connection queue; a database failure is logged, never fatal to the
 * connection (nodes keep getting announcements). A bad frame closes this connection only.
 */
import { randomUUID } from "node:crypto";
import type { WebSocket } from "ws";
import type { Ack, Nack, Status } from "../../proto/gen/corral/sync/v1/sync.ts";
import { CorralError, ERROR_CATALOGUE, type ErrorCode, type ErrorSpec } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { ControlPlaneMetrics } from "../metrics.ts";
import type { PublishedVersion, VersionFeed } from "../publish/version-feed.ts";
import { recordReport } from "../store/config-versions.ts";
import type { Pool } from "../store/db.ts";
import {
  markDisconnected,
  type NodeHello,
  recordApplied,
  recordError,
  recordStatus,
  registerConnection,
} from "../store/nodes.ts";
import { boundedText, type DecodedFrame, decodeFrame, encodeFrame, helloToNode } from "./frames.ts";

export interface ConnectionContext {
  pool: Pool;
  feed: VersionFeed;
  metrics: ControlPlaneMetrics;
  logger: Logger;
  cpId: string;
  helloTimeoutMs: number;
  now: () => number;
  /** after a node's connection was recorded or cleared: the fleet (slots, liveness) may have changed */
  onFleetChange?: () => void;
}

export class NodeConnection {
  readonly id = randomUUID();
  readonly openedAtMs: number;
  node: NodeHello | undefined;
  missedPongs = 0;
  /** resolves when the socket has closed and the node's database writes are done */
  readonly closed: Promise<void>;
  private readonly ws: WebSocket;
  private readonly ctx: ConnectionContext;
  private readonly helloTimer: NodeJS.Timeout;
  private writes: Promise<void> = Promise.resolve();
  private highestAcked = 0;

  constructor(ws: WebSocket, ctx: ConnectionContext) {
    this.ws = ws;
    this.ctx = ctx;
    this.openedAtMs = ctx.now();
    this.helloTimer = setTimeout(
      () => this.fail(new CorralError("CORRAL_SYNC_HELLO_TIMEOUT")),
      ctx.helloTimeoutMs,
    );
    ws.on("message", (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on("pong", () => {
      this.missedPongs = 0;
    });
    ws.on("error", (err: Error & { code?: string }) => this.onSocketError(err));
    this.closed = new Promise((resolve) => {
      ws.once("close", () => {
        clearTimeout(this.helloTimer);
        this.onClose().then(resolve, resolve);
      });
    });
  }

  get ready(): boolean {
    return this.node !== undefined;
  }

  announce(v: PublishedVersion): void {
    if (this.ready) this.send({ announce: { version: v.version, key: v.key, sha256: v.sha256 } });
  }

  /** Called every ping interval: terminates after two missed pongs. */
  heartbeat(): void {
    if (this.missedPongs >= 2) {
      this.ctx.logger.warn(
        { slot: this.node?.slot, connection: this.id },
        "sync connection missed two pongs",
      );
      this.ws.terminate();
      return;
    }
    this.missedPongs++;
    this.ws.ping();
  }

  terminate(): void {
    this.ws.terminate();
  }

  close(code: ErrorCode): void {
    const spec: ErrorSpec = ERROR_CATALOGUE[code];
    this.ws.close(spec.wsClose ?? 1011, code);
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    try {
      if (!isBinary) throw new CorralError("CORRAL_SYNC_TEXT_FRAME");
      this.dispatch(decodeFrame(data));
    } catch (err) {
      this.fail(err instanceof CorralError ? err : new CorralError("CORRAL_SYNC_BAD_FRAME", String(err)));
    }
  }

  private dispatch({ kind, frame }: DecodedFrame): void {
    this.ctx.metrics.syncFrames.inc({ direction: "in", type: kind });
    if (kind === "hello") {
      this.onHello(frame.hello!);
      return;
    }
    const node = this.node;
    if (!node) throw new CorralError("CORRAL_SYNC_PROTOCOL", `${kind} before hello`);
    switch (kind) {
      case "ack":
        this.onAck(node, frame.ack!);
        break;
      case "nack":
        this.onNack(node, frame.nack!);
        break;
      case "status":
        this.onStatus(node, frame.status!);
        break;
      default:
        throw new CorralError("CORRAL_SYNC_PROTOCOL", `${kind} frames only travel from the control plane`);
    }
  }

  private onHello(hello: NonNullable<DecodedFrame["frame"]["hello"]>): void {
    if (this.node) throw new CorralError("CORRAL_SYNC_PROTOCOL", "second hello on one connection");
    const node = helloToNode(hello);
    this.node = node;
    clearTimeout(this.helloTimer);
    const latest = this.ctx.feed.latest();
    this.send({
      welcome: {
        cp: this.ctx.cpId,
        latest: latest && { version: latest.version, key: latest.key, sha256: latest.sha256 },
      },
    });
    this.ctx.logger.info(
      { slot: node.slot, zone: node.zone, node: node.nodeId, version: node.version },
      "node connected",
    );
    this.write(async (pool) => {
      await registerConnection(pool, node, this.ctx.cpId, this.id);
      this.ctx.onFleetChange?.();
    });
  }

  private onAck(node: NodeHello, ack: Ack): void {
    this.ctx.metrics.nodeReports.inc({ result: "ack" });
    const latencyMs = this.propagationMs(ack.version);
    if (latencyMs !== undefined) this.ctx.metrics.propagation.observe(latencyMs / 1000);
    this.highestAcked = Math.max(this.highestAcked, ack.version);
    this.write(async (pool) => {
      await recordApplied(pool, node.slot, ack.version);
      await recordReport(pool, { version: ack.version, slot: node.slot, ok: true, latencyMs });
    });
  }

  private onNack(node: NodeHello, nack: Nack): void {
    this.ctx.metrics.nodeReports.inc({ result: "nack" });
    const error = boundedText(nack.error || "unspecified");
    this.ctx.logger.warn({ slot: node.slot, version: nack.version, error }, "node refused a version");
    this.write(async (pool) => {
      await recordError(pool, node.slot, `version ${nack.version}: ${error}`);
      await recordReport(pool, { version: nack.version, slot: node.slot, ok: false, error });
    });
  }

  private onStatus(node: NodeHello, s: Status): void {
    const status = {
      version: s.version,
      configAgeMs: s.configAgeMs,
      inflight: s.inflight,
      shed: s.shed,
      fetchError: boundedText(s.fetchError),
    };
    this.write((pool) => recordStatus(pool, node.slot, status));
  }

  /** publish -> Ack time of the newest version, once per node, if it was published while connected */
  private propagationMs(version: number): number | undefined {
    const latest = this.ctx.feed.latest();
    if (!latest || latest.version !== version || version <= this.highestAcked) return undefined;
    if (latest.publishedAtMs < this.openedAtMs) return undefined;
    return Math.max(0, this.ctx.now() - latest.publishedAtMs);
  }

  private send(frame: Parameters<typeof encodeFrame>[0]): void {
    const kind = Object.keys(frame)[0] ?? "unknown";
    this.ctx.metrics.syncFrames.inc({ direction: "out", type: kind });
    this.ws.send(encodeFrame(frame));
  }

  private fail(err: CorralError): void {
    this.ctx.metrics.syncRejected.inc({ code: err.code });
    this.ctx.logger.warn(
      { slot: this.node?.slot, connection: this.id, code: err.code, detail: err.message },
      "closing sync connection",
    );
    this.close(err.code);
  }

  private onSocketError(err: Error & { code?: string }): void {
    const code: ErrorCode =
      err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"
        ? "CORRAL_SYNC_FRAME_TOO_LARGE"
        : "CORRAL_SYNC_BAD_FRAME";
    this.ctx.metrics.syncRejected.inc({ code });
    this.ctx.logger.warn(
      { slot: this.node?.slot, connection: this.id, code, detail: err.message },
      "sync socket error",
    );
  }

  private write(fn: (pool: Pool) => Promise<void>): void {
    this.writes = this.writes.then(() =>
      fn(this.ctx.pool).catch((err) =>
        this.ctx.logger.warn({ err, slot: this.node?.slot }, "could not record node state"),
      ),
    );
  }

  private async onClose(): Promise<void> {
    const node = this.node;
    if (node) {
      this.ctx.logger.info({ slot: node.slot, connection: this.id }, "node disconnected");
      this.write(async (pool) => {
        await markDisconnected(pool, node.slot, this.id);
        this.ctx.onFleetChange?.();
      });
    }
    await this.writes;
  }
}
