/**
 * One simulated data-plane node on /sync/v1: dials with its slot's credential (compression off),
 * sends Hello, and on Welcome (with a latest version) or Announce fetches and checks the blob
 * (blob-check.ts), then Acks it — or Nacks it with the reason. Versions are handled in order,
 * never a lower one than the node already acked. Every step is reported to `events` with the
 * wall-clock time, so the fleet can measure admin call -> Announce -> Ack.
 */
import WebSocket from "ws";
import { deriveNodeCredential } from "../../proto/node-credential.ts";
import { type Announce, SyncFrame } from "../../proto/gen/corral/sync/v1/sync.ts";
import type { AnnouncedBlob, BlobChecker } from "./blob-check.ts";

export const SIM_BUILD = "corral-propagation-sim";

export type SimEvent =
  | { kind: "announce"; node: number; version: number; atMs: number }
  | { kind: "ack"; node: number; version: number; atMs: number; checkMs: number }
  | { kind: "nack"; node: number; version: number; atMs: number; error: string }
  | { kind: "closed"; node: number; atMs: number; code: number; reason: string };

export interface SimNodeOptions {
  index: number;
  cpUrl: string;
  /** CORRAL_NODE_SECRET of the control plane: each node derives its slot's credential */
  nodeSecret: string;
  zones: readonly string[];
  checker: BlobChecker;
  events: (e: SimEvent) => void;
}

export const epochMs = (): number => performance.timeOrigin + performance.now();

export function simSlot(index: number): string {
  return `sim-${String(index).padStart(4, "0")}`;
}

export class SimNode {
  private readonly opts: SimNodeOptions;
  private ws: WebSocket | undefined;
  private acked = 0;
  private closing = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(opts: SimNodeOptions) {
    this.opts = opts;
  }

  /** Resolves once the connection is open and Hello is sent. */
  connect(): Promise<void> {
    const url = `${this.opts.cpUrl.replace(/^http/, "ws")}/sync/v1`;
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      headers: {
        authorization: `Bearer ${deriveNodeCredential(this.opts.nodeSecret, simSlot(this.opts.index))}`,
      },
    });
    this.ws = ws;
    ws.on("message", (data, isBinary) => {
      if (isBinary) this.onFrame(SyncFrame.decode(data as Buffer));
    });
    ws.on("close", (code, reason) => {
      if (!this.closing)
        this.emit({ kind: "closed", node: this.opts.index, atMs: epochMs(), code, reason: String(reason) });
    });
    return new Promise((resolve, reject) => {
      ws.once("open", () => {
        this.send({ hello: this.hello() });
        resolve();
      });
      ws.once("unexpected-response", (_req, res) =>
        reject(new Error(`sync dial answered HTTP ${res.statusCode}`)),
      );
      ws.once("error", reject);
    });
  }

  close(): void {
    this.closing = true;
    this.ws?.terminate();
  }

  private hello() {
    const slot = simSlot(this.opts.index);
    const zone = this.opts.zones[this.opts.index % this.opts.zones.length]!;
    return { node: slot, slot, zone, version: 0, build: SIM_BUILD, httpUrl: "", grpcAddress: "" };
  }

  private onFrame(frame: SyncFrame): void {
    const announce: Announce | undefined = frame.announce ?? frame.welcome?.latest;
    if (!announce || announce.version <= 0) return;
    this.emit({ kind: "announce", node: this.opts.index, version: announce.version, atMs: epochMs() });
    const a = { version: announce.version, key: announce.key, sha256: announce.sha256 };
    this.chain = this.chain.then(() => this.apply(a));
  }

  private async apply(a: AnnouncedBlob): Promise<void> {
    if (a.version <= this.acked) return;
    const started = performance.now();
    try {
      const checkMs = await this.opts.checker.check(a);
      this.acked = a.version;
      this.send({ ack: { version: a.version, applyMs: Math.round(performance.now() - started) } });
      this.emit({ kind: "ack", node: this.opts.index, version: a.version, atMs: epochMs(), checkMs });
    } catch (err) {
      const error = (err as Error).message.slice(0, 400);
      this.send({ nack: { version: a.version, error } });
      this.emit({ kind: "nack", node: this.opts.index, version: a.version, atMs: epochMs(), error });
    }
  }

  private send(frame: Partial<SyncFrame>): void {
    if (this.ws?.readyState === WebSocket.OPEN)
      this.ws.send(SyncFrame.encode(SyncFrame.fromPartial(frame)).finish());
  }

  private emit(e: SimEvent): void {
    this.opts.events(e);
  }
}
