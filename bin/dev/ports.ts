/**
 * Port plan of a local platform. Base ports follow docs/design.md §9.3; replica i of a role uses
 * base + i (control planes: base + 2i, since HTTP and gRPC bases are adjacent). A base of 0
 * means "any free port" for every process of that role.
 */
import { createServer } from "node:net";

export interface PortPlan {
  pg: number;
  cpHttp: number;
  cpGrpc: number;
  dpHttp: number;
  dpGrpc: number;
  dpOps: number;
  upstreamHttp: number;
  upstreamGrpc: number;
}

export const DEFAULT_PORTS: Readonly<PortPlan> = Object.freeze({
  pg: 7432,
  cpHttp: 7400,
  cpGrpc: 7401,
  dpHttp: 7500,
  dpGrpc: 7600,
  dpOps: 7700,
  upstreamHttp: 7800,
  upstreamGrpc: 7801,
});

export const FREE_PORTS: Readonly<PortPlan> = Object.freeze({
  pg: 0,
  cpHttp: 0,
  cpGrpc: 0,
  dpHttp: 0,
  dpGrpc: 0,
  dpOps: 0,
  upstreamHttp: 0,
  upstreamGrpc: 0,
});

export interface ResolvedPorts {
  pg: number;
  cps: Array<{ http: number; grpc: number }>;
  dps: Array<{ http: number; grpc: number; ops: number }>;
  upstreamHttp: number;
  upstreamGrpc: number;
}

/** Concrete ports for every process; `allocate` is called once per port whose base is 0. */
export async function resolvePorts(
  plan: PortPlan,
  counts: { controlPlanes: number; dataPlanes: number },
  allocate: () => Promise<number>,
): Promise<ResolvedPorts> {
  const pick = async (base: number, offset: number) => (base === 0 ? allocate() : base + offset);
  const cps = [];
  for (let i = 0; i < counts.controlPlanes; i++)
    cps.push({ http: await pick(plan.cpHttp, 2 * i), grpc: await pick(plan.cpGrpc, 2 * i) });
  const dps = [];
  for (let i = 0; i < counts.dataPlanes; i++) {
    dps.push({
      http: await pick(plan.dpHttp, i),
      grpc: await pick(plan.dpGrpc, i),
      ops: await pick(plan.dpOps, i),
    });
  }
  const ports = {
    pg: await pick(plan.pg, 0),
    cps,
    dps,
    upstreamHttp: await pick(plan.upstreamHttp, 0),
    upstreamGrpc: await pick(plan.upstreamGrpc, 0),
  };
  assertDistinct(ports);
  return ports;
}

/** Every port in the plan, in a stable order. */
export function allPorts(ports: ResolvedPorts): number[] {
  return [
    ports.pg,
    ...ports.cps.flatMap((cp) => [cp.http, cp.grpc]),
    ...ports.dps.flatMap((dp) => [dp.http, dp.grpc, dp.ops]),
    ports.upstreamHttp,
    ports.upstreamGrpc,
  ];
}

function assertDistinct(ports: ResolvedPorts): void {
  const seen = new Set<number>();
  for (const port of allPorts(ports)) {
    if (port > 65535) throw new Error(`port plan runs past 65535 (${port})`);
    if (seen.has(port)) throw new Error(`port plan uses port ${port} twice; choose bases further apart`);
    seen.add(port);
  }
}

/** A loopback port nobody listens on right now (bind it soon). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}

/** An allocator that never hands out the same port twice (the OS may, once a probe closes). */
export function distinctFreePorts(host = "127.0.0.1"): () => Promise<number> {
  const given = new Set<number>();
  return async () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const port = await freePort(host);
      if (!given.has(port)) {
        given.add(port);
        return port;
      }
    }
    throw new Error("could not find a free port");
  };
}

/** Ports of the plan something already listens on (another `corral dev`, another service). */
export async function portsInUse(ports: readonly number[], host = "127.0.0.1"): Promise<number[]> {
  const taken = await Promise.all(ports.map((port) => canBind(port, host).then((free) => (free ? 0 : port))));
  return taken.filter((port) => port !== 0);
}

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
