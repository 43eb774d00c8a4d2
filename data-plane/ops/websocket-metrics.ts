/**
 * WebSocket metrics of a node: open sockets by the tenant's priority class (batch, standard,
 * critical), messages and bytes relayed by direction, closes by why. Every label is from a
 * fixed list; counters per message are bound children (no label lookup per frame).
 */
import { Counter, Gauge, type Registry } from "prom-client";

export type SocketDirection = "to_upstream" | "to_client";
const DIRECTIONS: readonly SocketDirection[] = ["to_upstream", "to_client"];
const CLASSES = ["batch", "standard", "critical"] as const;
/** why a socket ended (websocket-relay.ts, websocket-proxy.ts) */
const CLOSE_REASONS = [
  "client",
  "upstream",
  "client_error",
  "upstream_error",
  "idle",
  "going_away",
  "closed",
] as const;

export interface WebSocketMetrics {
  opened(priorityClass: string): void;
  closed(priorityClass: string, why: string): void;
  frame(direction: SocketDirection, bytes: number): void;
}

export function createWebSocketMetrics(registry: Registry): WebSocketMetrics {
  const open = new Gauge({
    name: "corral_dp_websockets_open",
    help: "WebSockets open on this node, by the tenant's priority class",
    labelNames: ["class"],
    registers: [registry],
  });
  const frames = new Counter({
    name: "corral_dp_websocket_messages_total",
    help: "WebSocket messages relayed, by direction (to_upstream, to_client)",
    labelNames: ["direction"],
    registers: [registry],
  });
  const bytes = new Counter({
    name: "corral_dp_websocket_bytes_total",
    help: "WebSocket message payload bytes relayed, by direction",
    labelNames: ["direction"],
    registers: [registry],
  });
  const closes = new Counter({
    name: "corral_dp_websocket_closes_total",
    help: "WebSockets ended, by why: client or upstream closed, either failed, idle timeout, going_away (route removed, tenant suspended, node draining)",
    labelNames: ["why"],
    registers: [registry],
  });
  for (const c of CLASSES) open.set({ class: c }, 0);
  const frameCells = new Map(DIRECTIONS.map((d) => [d, frames.labels(d)]));
  const byteCells = new Map(DIRECTIONS.map((d) => [d, bytes.labels(d)]));
  const known = (c: string) => ((CLASSES as readonly string[]).includes(c) ? c : "standard");
  return {
    opened: (c) => open.inc({ class: known(c) }),
    closed(c, why) {
      open.dec({ class: known(c) });
      closes.inc({ why: (CLOSE_REASONS as readonly string[]).includes(why) ? why : "closed" });
    },
    frame(direction, n) {
      frameCells.get(direction)!.inc();
      byteCells.get(direction)!.inc(n);
    },
  };
}
