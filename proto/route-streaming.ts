/**
 * A route's WebSocket and streaming settings: their bounds and defaults, shared by the CP (API
 * schemas, compile) and the snapshot consistency check both planes run. In the snapshot a zero
 * means "the default"; anything else must lie within the bounds. Pure.
 */
import type { Route } from "./gen/corral/snapshot/v1/snapshot.ts";

export interface Bound {
  min: number;
  max: number;
  /** applied by the node when the snapshot carries 0, and by the APIs when a request omits it */
  default: number;
}

export const STREAMING_BOUNDS = {
  /** no frame either way for this long: the socket is closed with 1001 */
  websocketIdleTimeoutMs: { min: 1000, max: 3_600_000, default: 300_000 },
  /** open sockets of the route on one node: the next handshake is 429 */
  websocketMaxConnections: { min: 1, max: 100_000, default: 1000 },
  /** after the response head, the longest pause in the body */
  streamIdleTimeoutMs: { min: 1000, max: 3_600_000, default: 60_000 },
  /** the largest message either way: close 1009 past it */
  websocketMaxMessageBytes: { min: 1, max: 16 * 1024 * 1024, default: 1024 * 1024 },
} as const satisfies Record<string, Bound>;

export type StreamingSetting = keyof typeof STREAMING_BOUNDS;
export const STREAMING_SETTINGS = Object.keys(STREAMING_BOUNDS) as StreamingSetting[];

/** The setting as the node applies it: the default for 0. */
export function streamingSetting(r: Pick<Route, StreamingSetting>, name: StreamingSetting): number {
  return r[name] === 0 ? STREAMING_BOUNDS[name].default : r[name];
}

/** What is out of bounds in a route's streaming settings (0 is always fine). */
export function streamingProblems(where: string, r: Pick<Route, StreamingSetting>): string[] {
  const problems: string[] = [];
  for (const name of STREAMING_SETTINGS) {
    const v = r[name];
    const b = STREAMING_BOUNDS[name];
    if (v !== 0 && !(Number.isInteger(v) && v >= b.min && v <= b.max))
      problems.push(`${where}: ${name} ${v} out of range ${b.min}..${b.max}`);
  }
  return problems;
}

/** A snapshot route's streaming fields when nothing is set: no WebSocket, the defaults. */
export const STREAMING_UNSET: Pick<Route, StreamingSetting | "websocket"> = Object.freeze({
  websocket: false,
  websocketIdleTimeoutMs: 0,
  websocketMaxConnections: 0,
  streamIdleTimeoutMs: 0,
  websocketMaxMessageBytes: 0,
});
