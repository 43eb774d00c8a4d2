/**
 * A fleet of simulated data-plane nodes spread over worker threads (sim-worker.ts), and the
 * record of what each node saw: per node, every version announced to it and every version it
 * acked, with wall-clock times. Started with `SimFleet.start`; `close()` ends every connection.
 */
import { Worker } from "node:worker_threads";
import type { SimEvent } from "./sim-node.ts";
import type { SimWorkerData } from "./sim-worker.ts";

export type SimFleetOptions = Omit<SimWorkerData, "first" | "count"> & { nodes: number; workers: number };

export interface NodeMark {
  version: number;
  atMs: number;
  checkMs?: number;
}

export class SimFleet {
  readonly nodes: number;
  readonly announces: NodeMark[][];
  readonly acks: NodeMark[][];
  readonly nacks: Array<{ node: number; version: number; error: string }> = [];
  readonly closed: Array<{ node: number; code: number; reason: string }> = [];
  /** workers that failed or exited (after the start too) */
  readonly failures: string[] = [];
  private readonly workers: Worker[] = [];

  private constructor(nodes: number) {
    this.nodes = nodes;
    this.announces = Array.from({ length: nodes }, () => []);
    this.acks = Array.from({ length: nodes }, () => []);
  }

  static async start(opts: SimFleetOptions): Promise<SimFleet> {
    const fleet = new SimFleet(opts.nodes);
    const per = Math.ceil(opts.nodes / opts.workers);
    const started: Promise<void>[] = [];
    for (let first = 0; first < opts.nodes; first += per) {
      const { nodes: _n, workers: _w, ...shared } = opts;
      const data: SimWorkerData = { ...shared, first, count: Math.min(per, opts.nodes - first) };
      started.push(fleet.spawn(data));
    }
    try {
      await Promise.all(started);
    } catch (err) {
      await fleet.close();
      throw err;
    }
    return fleet;
  }

  private spawn(data: SimWorkerData): Promise<void> {
    const worker = new Worker(new URL("./sim-worker.ts", import.meta.url), { workerData: data });
    this.workers.push(worker);
    return new Promise((resolve, reject) => {
      const fail = (message: string) => {
        this.failures.push(message);
        reject(new Error(message));
      };
      worker.on("message", (m: { connected?: number; events?: SimEvent[]; error?: string }) => {
        if (m.events) for (const e of m.events) this.record(e);
        if (m.connected !== undefined) resolve();
        if (m.error) fail(`simulated nodes ${data.first}..${data.first + data.count - 1}: ${m.error}`);
      });
      worker.on("error", (err) => fail(`simulation worker: ${err.message}`));
      worker.on("exit", (code) => fail(`simulation worker exited with code ${code}`));
    });
  }

  private record(e: SimEvent): void {
    if (e.kind === "announce") this.announces[e.node]!.push({ version: e.version, atMs: e.atMs });
    else if (e.kind === "ack")
      this.acks[e.node]!.push({ version: e.version, atMs: e.atMs, checkMs: e.checkMs });
    else if (e.kind === "nack") this.nacks.push({ node: e.node, version: e.version, error: e.error });
    else this.closed.push({ node: e.node, code: e.code, reason: e.reason });
  }

  /** the highest version every node has acked (0 if some node acked none) */
  lowestAcked(): number {
    let lowest = Number.POSITIVE_INFINITY;
    for (const list of this.acks) lowest = Math.min(lowest, list.at(-1)?.version ?? 0);
    return lowest;
  }

  /** per node, its first mark for a version above `version` (undefined where none yet) */
  firstAbove(marks: readonly NodeMark[][], version: number): Array<NodeMark | undefined> {
    return marks.map((list) => list.find((m) => m.version > version));
  }

  async close(): Promise<void> {
    for (const w of this.workers) {
      w.removeAllListeners("exit");
      w.postMessage("close");
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
