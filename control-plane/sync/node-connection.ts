/**
 * One data-plane node's /sync/v1 connection, bound to the slot its credential names: waits
 * for Hello (answers Welcome; a Hello for another slot closes it), then takes Ack / Nack /
 * Status and sends Announce. Database writes for the node are coalesced per kind (the latest
 * wins, one runs at a time: CoalescingWriter), its Acks written with every other node's
 * (AckBatch); a database failure is logged, never fatal to
 * the connection (nodes keep getting announcements). A bad frame, a node over the frame rate
 * or a slot beyond the fleet's slot limit closes this connection only. Usage counts in Status
 * frames are checked entry by entry and rolled up (usage-report.ts); the "usage" write adds the
 * rollup to Postgres, keeping only tenants whose shard has this node's slot.
 */
import { randomUUID } from "node:crypto";
import type { WebSocket } from "ws";
import type { Ack, Nack, Status } from "../../proto/gen/corral/sync/v1/sync.ts";
import { CorralError, ERROR_CATALOGUE, type ErrorCode, type ErrorSpec } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { ControlPlaneMetrics } from "../metrics.ts";
import type { VersionFeed } from "../publish/version-feed.ts";
import { recordReport } from "../store/config-versions.ts";
import type { AckBatch } from "./ack-batch.ts";
import type { Pool } from "../store/db.ts";
import {
  markDisconnected,
  type NodeHello,
  recordError,
  recordStatus,
  registerConnection,
} from "../store/nodes.ts";
import { CoalescingWriter } from "./coalescing-writer.ts";
import { FrameRate } from "./frame-rate.ts";
import { boundedText, type DecodedFrame, decodeFrame, encodeFrame, helloToNode } from "./frames.ts";
import { assertUsageBounded, UsageRollup, usageEntryProblem, usageRow } from "./usage-report.ts";
import { addUsage, type UsageRow } from "../store/usage.ts";

/** how long a refused node has to complete the close handshake before its socket is cut */
const CLOSE_GRACE_MS = 1000;

type WriteKind = "hello" | "nack" | "status" | "usage" | "close";

export interface ConnectionContext {
  pool: Pool;
  feed: VersionFeed;
  metrics: ControlPlaneMetrics;
  logger: Logger;
  cpId: string;
  /** the slot the node's credential names: the only one it may speak for */
  slot: string;
  maxSlots: number;
  maxFramesPerSec: number;
  helloTimeoutMs: number;
  now: () => number;
  /** the replica's Acks, written together */
  acks: AckBatch;
  /** after a node's connection was recorded or cleared: the fleet (slots, liveness) may have changed */
  onFleetChange?: () => void;
  /** which of these tenants have `slot` in their shard (usage is taken only from members) */
  shardMembers(slot: string, tenantIds: readonly string[]): Promise<ReadonlySet<string>>;
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
  private readonly writes: CoalescingWriter<WriteKind>;
  private readonly frameRate: FrameRate;
  private highestAcked = 0;
  private readonly usage = new UsageRollup();
  /** a refusal closed (is closing) the connection: later frames are ignored */
  private closing = false;

  constructor(ws: WebSocket, ctx: ConnectionContext) {
    this.ws = ws;
    this.ctx = ctx;
    this.openedAtMs = ctx.now();
    this.frameRate = new FrameRate(ctx.maxFramesPerSec);
    this.writes = new CoalescingWriter<WriteKind>({
      onRun: (kind) => ctx.metrics.syncWrites.inc({ kind }),
      onReplaced: (kind) => ctx.metrics.syncCoalesced.inc({ kind }),
      onError: (kind, err) => ctx.logger.warn({ err, slot: ctx.slot, kind }, "could not record node state"),
    });
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

  /** Sends an already encoded frame (the Announce shared by every node) if the node is ready. */
  sendEncoded(frame: Uint8Array): boolean {
    if (!this.ready || this.closing) return false;
    this.ws.send(frame);
    return true;
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
    if (this.closing) return;
    try {
      if (!this.frameRate.allow(this.ctx.now()))
        throw new CorralError(
          "CORRAL_SYNC_FRAME_RATE",
          `more than ${this.ctx.maxFramesPerSec} frames in one second`,
        );
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
    if (node.slot !== this.ctx.slot)
      throw new CorralError(
        "CORRAL_SYNC_SLOT_MISMATCH",
        `the credential is for slot ${this.ctx.slot}, the hello names ${JSON.stringify(node.slot)}`,
      );
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
    this.write("hello", async (pool) => {
      if (!(await registerConnection(pool, node, this.ctx.cpId, this.id, this.ctx.maxSlots))) {
        this.fail(
          new CorralError("CORRAL_SYNC_SLOT_LIMIT", `the fleet already has ${this.ctx.maxSlots} slots`),
        );
        return;
      }
      this.ctx.onFleetChange?.();
    });
  }

  private onAck(node: NodeHello, ack: Ack): void {
    this.ctx.metrics.nodeReports.inc({ result: "ack" });
    const latencyMs = this.propagationMs(ack.version);
    if (latencyMs !== undefined) this.ctx.metrics.propagation.observe(latencyMs / 1000);
    this.highestAcked = Math.max(this.highestAcked, ack.version);
    this.ctx.acks.add({ slot: node.slot, version: ack.version, latencyMs });
  }

  private onNack(node: NodeHello, nack: Nack): void {
    this.ctx.metrics.nodeReports.inc({ result: "nack" });
    const error = boundedText(nack.error || "unspecified");
    this.ctx.logger.warn({ slot: node.slot, version: nack.version, error }, "node refused a version");
    this.write("nack", async (pool) => {
      // the Acks this node sent before (batched, written up to ACK_FLUSH_MS later) first: each
      // clears the node's last error, and written after this Nack one would erase it
      await this.ctx.acks.idle();
      await recordError(pool, node.slot, `version ${nack.version}: ${error}`);
      await recordReport(pool, { version: nack.version, slot: node.slot, ok: false, error });
    });
  }

  private onStatus(node: NodeHello, s: Status): void {
    assertUsageBounded(s.usage);
    if (s.usage.length > 0) this.onUsage(node, s);
    const status = {
      version: s.version,
      configAgeMs: s.configAgeMs,
      inflight: s.inflight,
      shed: s.shed,
      fetchError: boundedText(s.fetchError),
    };
    this.write("status", (pool) => recordStatus(pool, node.slot, status));
  }

  private onUsage(node: NodeHello, s: Status): void {
    const counted = this.ctx.metrics.usageEntries;
    const nowMs = this.ctx.now();
    for (const entry of s.usage) {
      const problem = usageEntryProblem(entry, nowMs);
      if (problem) counted.inc({ result: problem });
      else if (!this.usage.add(usageRow(entry))) counted.inc({ result: "dropped" });
    }
    this.write("usage", (pool) => this.writeUsage(pool, node.slot));
  }

  /** Adds the rollup to Postgres (members' tenants only); on failure it is merged back for the next write. */
  private async writeUsage(pool: Pool, slot: string): Promise<void> {
    const rows = this.usage.take();
    if (rows.length === 0) return;
    const counted = this.ctx.metrics.usageEntries;
    try {
      const members = await this.ctx.shardMembers(slot, [...new Set(rows.map((r) => r.tenantId))]);
      const served = rows.filter((r) => members.has(r.tenantId));
      counted.inc({ result: "not_member" }, rows.length - served.length);
      await addUsage(pool, served);
      counted.inc({ result: "written" }, served.length);
    } catch (err) {
      const lost = rows.filter((r: UsageRow) => !this.usage.add(r)).length;
      if (lost > 0) counted.inc({ result: "dropped" }, lost);
      throw err;
    }
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
    if (this.closing) return;
    this.closing = true;
    this.ctx.metrics.syncRejected.inc({ code: err.code });
    this.ctx.logger.warn(
      { slot: this.node?.slot, connection: this.id, code: err.code, detail: err.message },
      "closing sync connection",
    );
    this.close(err.code);
    // read nothing more from this node; cut the socket if it does not finish the close handshake
    this.ws.pause();
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
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

  private write(kind: WriteKind, fn: (pool: Pool) => Promise<void>): void {
    this.writes.enqueue(kind, () => fn(this.ctx.pool));
  }

  private async onClose(): Promise<void> {
    const node = this.node;
    if (node) {
      this.ctx.logger.info({ slot: node.slot, connection: this.id }, "node disconnected");
      this.write("close", async (pool) => {
        await markDisconnected(pool, node.slot, this.id);
        this.ctx.onFleetChange?.();
      });
    }
    await this.writes.idle();
  }
}
