import { nodeScript, startChild } from "../process/child-process.ts";
import { startNginxProxy } from "./nginx-proxy.ts";

/**
 * A contender in the side-by-side benchmark: something that, given the shared
 * upstream, serves it at `url`. `pids` are its processes (for CPU per core and
 * sampling); `stop` ends them. Adding one (e.g. the data plane) is one entry in the
 * bench-proxies scenario's contender list.
 */
export type RunningContender = {
  url: string;
  /** host:port of its gRPC side, for gRPC comparisons */
  grpc?: string;
  /** sent with every request (e.g. the data plane's API key) */
  headers?: Record<string, string>;
  pids: number[];
  /** makes a small config change that the contender must apply while serving (the data plane) */
  changeConfig?(): Promise<void>;
  /** the contender's own count of config applies so far (the data plane's pulls) */
  applies?(): Promise<Applies>;
  stop(): Promise<void>;
};
/** Config applies a data plane counted: changed = a new version swapped in, same = re-verified. */
export type Applies = { changed: number; same: number };
export type BenchUpstream = { url: string; grpc?: string };
export type Contender = { name: string; start(upstream: BenchUpstream): Promise<RunningContender> };

export const direct: Contender = {
  name: "direct",
  start: async (upstream) => ({ url: upstream.url, grpc: upstream.grpc, pids: [], stop: async () => {} }),
};

export const bareNodeProxy: Contender = {
  name: "node-proxy",
  async start(upstream) {
    const proxy = await startChild<{ url: string }>(
      nodeScript(new URL("./node-proxy.ts", import.meta.url), [`--upstream=${upstream.url}`]),
    );
    return { url: proxy.ready.url, pids: [proxy.pid], stop: proxy.stop };
  },
};

export const nginx: Contender = {
  name: "nginx",
  async start(upstream) {
    const proxy = await startNginxProxy(upstream.url);
    return { url: proxy.url, pids: proxy.pids, stop: proxy.stop };
  },
};

/** The bare node:http2 passthrough (h2-passthrough.ts), for gRPC comparisons. */
export const h2Passthrough: Contender = {
  name: "h2-passthrough",
  async start(upstream) {
    if (!upstream.grpc) throw new Error("the h2 passthrough needs a gRPC upstream");
    const proxy = await startChild<{ address: string }>(
      nodeScript(new URL("./h2-passthrough.ts", import.meta.url), [`--upstream=${upstream.grpc}`]),
    );
    const address = proxy.ready.address;
    return { url: `http://${address}`, grpc: address, pids: [proxy.pid], stop: proxy.stop };
  },
};
