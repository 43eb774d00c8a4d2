/**
 * The brownout rig: `n` upstream targets, each a process of its own (brownout-upstream.ts)
 * behind a toxiproxy proxy for HTTP and one for gRPC, so a test or scenario can make one target
 * answer 503 / UNAVAILABLE (setMode), reset connections, add latency or vanish (toxiproxy), and
 * count what each target served (served()).
 */
import { request } from "undici";
import { nodeScript, type StartedChild, startChild } from "../process/child-process.ts";
import { freePort } from "../net/free-port.ts";
import type { BrownoutMode } from "./brownout-upstream.ts";
import { startToxiproxy, type Toxiproxy } from "./toxiproxy.ts";

export interface BrownoutTarget {
  /** toxiproxy's names for its proxies */
  httpProxy: string;
  grpcProxy: string;
  /** what the gateway is configured with: the proxies' addresses */
  httpUrl: string;
  grpcAddress: string;
  /** the process itself, for control */
  controlUrl: string;
}

export interface BrownoutRig {
  targets: BrownoutTarget[];
  toxiproxy: Toxiproxy;
  setMode(i: number, mode: BrownoutMode): Promise<void>;
  /** requests target i served since the last call */
  served(i: number): Promise<number>;
  stop(): Promise<void>;
}

type Ready = { url: string; grpc: string; pid: number };

export async function startBrownoutRig(n: number): Promise<BrownoutRig> {
  const children: StartedChild<Ready>[] = [];
  const toxiproxy = await startToxiproxy();
  try {
    const script = new URL("./brownout-upstream.ts", import.meta.url);
    for (let i = 0; i < n; i++) children.push(await startChild<Ready>(nodeScript(script)));
    const targets: BrownoutTarget[] = [];
    for (const [i, c] of children.entries()) {
      const http = await toxiproxy.createProxy(
        `t${i}-http`,
        new URL(c.ready.url).host,
        `127.0.0.1:${await freePort()}`,
      );
      const grpc = await toxiproxy.createProxy(`t${i}-grpc`, c.ready.grpc, `127.0.0.1:${await freePort()}`);
      targets.push({
        httpProxy: http.name,
        grpcProxy: grpc.name,
        httpUrl: `http://${http.listen}`,
        grpcAddress: grpc.listen,
        controlUrl: c.ready.url,
      });
    }
    const control = async (i: number, path: string) => {
      const res = await request(`${targets[i]!.controlUrl}${path}`);
      return res.body.text();
    };
    return {
      targets,
      toxiproxy,
      setMode: async (i, mode) => void (await control(i, `/__mode/${mode}`)),
      served: async (i) => (JSON.parse(await control(i, "/__count")) as { served: number }).served,
      stop: async () => {
        await Promise.all(children.map((c) => c.stop()));
        await toxiproxy.stop();
      },
    };
  } catch (err) {
    await Promise.all(children.map((c) => c.stop()));
    await toxiproxy.stop();
    throw err;
  }
}
