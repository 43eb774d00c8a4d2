/**
 * What a listening server is reachable at: the port it bound (the one the OS chose for port 0)
 * and the host as a URL or `host:port` writes it (IPv6 literals in brackets). One helper for
 * every server the fleet and its tools start.
 */
import type { AddressInfo } from "node:net";

interface Listening {
  address(): AddressInfo | string | null;
}

/** The port `server` listens on; `fallback` when it has none (a pipe, or not listening). */
export function boundPort(server: Listening, fallback: number): number {
  const address = server.address();
  return typeof address === "object" && address ? address.port : fallback;
}

/** `host:port` for URLs and gRPC dial targets: an IPv6 literal goes in brackets. */
export function hostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** `scheme://host:port` of a server listening on `host` (asked for `port`, maybe 0). */
export function boundUrl(server: Listening, host: string, port: number, scheme = "http"): string {
  return `${scheme}://${hostPort(host, boundPort(server, port))}`;
}
