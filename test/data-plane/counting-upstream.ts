/**
 * An upstream that counts how often each (tenant, Idempotency-Key) was executed: a request counts
 * the moment it arrives whole, before any answer, as a real side effect would. Paths choose the
 * answer: /slow/<ms> answers late, /big/<bytes> answers a large body, /reset executes then cuts
 * the connection without answering, /stall sends the head and part of the body, then nothing;
 * anything else answers at once.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface CountingUpstream {
  url: string;
  /** executions per "<tenant> <key>" */
  executions: Map<string, number>;
  /** requests seen that are not counted by key (no Idempotency-Key) */
  unkeyed: number;
  close(): Promise<void>;
}

export async function countingUpstream(): Promise<CountingUpstream> {
  const up: CountingUpstream = { url: "", executions: new Map(), unkeyed: 0, close: async () => {} };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const key = req.headers["idempotency-key"];
    const id = `${req.headers["corral-tenant"]} ${key}`;
    if (typeof key === "string") up.executions.set(id, (up.executions.get(id) ?? 0) + 1);
    else up.unkeyed++;
    const url = req.url ?? "/";
    if (url.startsWith("/reset")) return req.socket.destroy();
    if (url.startsWith("/stall")) {
      res.writeHead(201, { "content-type": "text/plain" });
      res.write("part of it");
      return;
    }
    const slow = /\/slow\/(\d+)/.exec(url);
    if (slow) await new Promise((r) => setTimeout(r, Number(slow[1])));
    const big = /\/big\/(\d+)/.exec(url);
    const body = big ? "x".repeat(Number(big[1])) : `done ${id} #${up.executions.get(id) ?? 0}`;
    if (res.destroyed) return;
    res.writeHead(201, { "content-type": "text/plain", "x-order": "o-1", "set-cookie": ["a=1", "b=2"] });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  up.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  up.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return up;
}
