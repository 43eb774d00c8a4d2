/** A minimal data-plane side of /sync/v1 for tests: connects, records frames, sends frames. */
import WebSocket from "ws";
import { type DeepPartial, type Hello, SyncFrame } from "../../proto/gen/corral/sync/v1/sync.ts";

export interface SyncClient {
  ws: WebSocket;
  frames: SyncFrame[];
  send(frame: DeepPartial<SyncFrame>): void;
  hello(over?: DeepPartial<Hello>): void;
  /** the next received frame of this kind (already received ones count), within timeoutMs */
  next<K extends keyof SyncFrame>(
    kind: K,
    timeoutMs?: number,
    after?: number,
  ): Promise<NonNullable<SyncFrame[K]>>;
  closed: Promise<{ code: number; reason: string }>;
}

export function connectSync(
  baseUrl: string,
  token: string | undefined,
  opts: WebSocket.ClientOptions = {},
): Promise<SyncClient> {
  const url = `${baseUrl.replace(/^http/, "ws")}/sync/v1`;
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  const options: WebSocket.ClientOptions = { perMessageDeflate: false, ...opts, headers };
  const ws = new WebSocket(url, options);
  const frames: SyncFrame[] = [];
  const waiters = new Set<() => void>();
  ws.on("message", (data, isBinary) => {
    if (isBinary) frames.push(SyncFrame.decode(data as Buffer));
    for (const w of waiters) w();
  });
  ws.on("error", () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const client: SyncClient = {
    ws,
    frames,
    closed,
    send: (frame) => ws.send(SyncFrame.encode(SyncFrame.fromPartial(frame)).finish()),
    hello: (over = {}) => {
      const defaults = { node: "node-1", slot: "dp-0", zone: "zone-a", httpUrl: "http://127.0.0.1:7500" };
      client.send({ hello: { ...defaults, ...over } });
    },
    next: (kind, timeoutMs = 3000, after = 0) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = frames.slice(after).find((f) => f[kind] !== undefined);
          if (!found) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found[kind]!);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${String(kind)} frame within ${timeoutMs} ms`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      }),
  };
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(client));
    ws.once("unexpected-response", (_req, res) =>
      reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })),
    );
    ws.once("error", reject);
  });
}
