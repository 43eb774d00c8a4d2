/**
 * A real ws server that speaks the sync protocol as the control plane does, for data-plane
 * tests: checks the node token, answers Hello with Welcome{latest}, records every frame, and
 * can Announce, send raw bytes, or go silent.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import {
  type Ack,
  type Announce,
  type Hello,
  type Nack,
  type Status,
  SyncFrame,
} from "../../proto/gen/corral/sync/v1/sync.ts";

export class TestControlPlane {
  readonly hellos: Hello[] = [];
  readonly acks: Ack[] = [];
  readonly nacks: Nack[] = [];
  readonly statuses: Status[] = [];
  readonly authHeaders: string[] = [];
  refusedUpgrades = 0;
  latest: Announce | undefined;
  private readonly token: string;
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<WebSocket>();

  private constructor(token: string) {
    this.token = token;
    this.server = createServer((_req, res) => res.writeHead(404).end());
    this.wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 });
    this.server.on("upgrade", (req, socket, head) => this.upgrade(req, socket, head));
  }

  static async start(token: string): Promise<TestControlPlane> {
    const cp = new TestControlPlane(token);
    await new Promise<void>((resolve) => cp.server.listen(0, "127.0.0.1", resolve));
    return cp;
  }

  get url(): string {
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  }

  get connected(): number {
    return this.sockets.size;
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.authHeaders.push(req.headers.authorization ?? "");
    if (req.url !== "/sync/v1" || req.headers.authorization !== `Bearer ${this.token}`) {
      this.refusedUpgrades++;
      socket.on("error", () => {});
      socket.end("HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  private accept(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on("close", () => this.sockets.delete(ws));
    ws.on("message", (data: Buffer) => {
      const frame = SyncFrame.decode(data);
      if (frame.hello) {
        this.hellos.push(frame.hello);
        ws.send(SyncFrame.encode({ welcome: { cp: "test-cp", latest: this.latest } }).finish());
      }
      if (frame.ack) this.acks.push(frame.ack);
      if (frame.nack) this.nacks.push(frame.nack);
      if (frame.status) this.statuses.push(frame.status);
    });
  }

  announce(a: Announce): void {
    this.latest = a;
    this.sendRaw(Buffer.from(SyncFrame.encode({ announce: a }).finish()));
  }

  sendRaw(bytes: Buffer | string): void {
    for (const ws of this.sockets) ws.send(bytes);
  }

  /** Stops reading every open connection: no frames, no pongs, as if the replica hung. */
  goSilent(): void {
    for (const ws of this.sockets) (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  }

  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
