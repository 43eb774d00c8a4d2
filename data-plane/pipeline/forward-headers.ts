/**
 * Header rewriting at the proxy boundary (pure). Hop-by-hop headers (RFC 9110 §7.6.1, plus any
 * named in Connection) never cross. Credentials meant for Corral (x-api-key, Authorization) never
 * reach the upstream. Headers cannot lie (docs/design.md §8.9): a client's Forwarded, X-Real-IP,
 * X-Forwarded-* and corral-* headers are dropped — but the inputs the node reads,
 * corral-timeout-ms and corral-priority — and the node sets its own Forwarded, X-Forwarded-For
 * (the client as client-origin.ts decided), -Proto, -Host and corral-tenant. An upstream's
 * corral-* response headers never reach the client; a shard member's (its own answer) do.
 * The trace context is the node's too: the client's traceparent and tracestate are replaced by the
 * request's trace (trace.ts), the node's span as the parent, or dropped when there is none.
 */
import type { IncomingHttpHeaders } from "node:http";
import { outgoingTraceHeaders, type RequestTrace } from "../../runtime/trace-context.ts";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** What only the node may say about where a request comes from, and in which trace. */
const ORIGIN_HEADERS = [
  "traceparent",
  "tracestate",
  "forwarded",
  "x-real-ip",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "x-forwarded-port",
  "x-forwarded-prefix",
];
/** The corral-* request headers a client may send: inputs the node reads (README). */
const CLIENT_CORRAL_HEADERS = new Set(["corral-timeout-ms", "corral-priority"]);
/** Never forwarded upstream: Corral's credentials, headers the node sets, and ones undici refuses. */
const REQUEST_DROP = new Set([
  ...HOP_BY_HOP,
  ...ORIGIN_HEADERS,
  "host",
  "x-api-key",
  "authorization",
  "expect",
]);
/** Never forwarded to a shard member: the member identifies the tenant again, so credentials stay. */
const PEER_DROP = new Set([...HOP_BY_HOP, ...ORIGIN_HEADERS, "expect"]);

const isCorral = (name: string) => name.startsWith("corral-");
const foreignCorral = (name: string) => isCorral(name) && !CLIENT_CORRAL_HEADERS.has(name);

export type HeaderMap = Record<string, string | string[]>;

/**
 * Header names a Connection header lists, beyond the hop-by-hop ones dropped anyway (undefined
 * when there are none: no Connection header, or the usual "keep-alive" or "close").
 */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined || value === "keep-alive" || value === "close") return undefined;
  const joined = Array.isArray(value) ? value.join(",") : value;
  return new Set(
    joined
      .split(",")
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}

/**
 * A copy of the headers without the dropped ones; HTTP/2 pseudo-headers (`:path`, `:status`, …)
 * never cross either: each side builds its own. One pass over the incoming object (HTTP/2's are
 * dictionary-mode objects, slow to walk, so the gRPC relay does not copy them twice).
 */
function copyWithout(
  headers: Record<string, string | string[] | undefined>,
  drop: ReadonlySet<string>,
  named: ReadonlySet<string> | undefined,
  dropAlso: ((name: string) => boolean) | undefined,
): HeaderMap {
  const out: HeaderMap = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || name.charCodeAt(0) === 58 /* : */) continue;
    if (drop.has(name) || named?.has(name) || dropAlso?.(name)) continue;
    out[name] = value;
  }
  return out;
}

export interface ForwardInfo {
  tenantId: string;
  clientIp: string;
  /** the Host header the client sent */
  host: string | undefined;
  proto: "http" | "https";
  /** the request's trace: sent on with the node's span as the parent */
  trace?: RequestTrace;
}

function setTrace(out: HeaderMap, trace: RequestTrace | undefined): HeaderMap {
  if (trace) Object.assign(out, outgoingTraceHeaders(trace));
  return out;
}

/** RFC 7239 node: IPv6 in brackets and quotes. */
function forwardedNode(ip: string): string {
  return ip.includes(":") ? `"[${ip}]"` : ip;
}

/** A Host value as a Forwarded quoted-string, or nothing when it could break the header. */
function forwardedHost(host: string): string | undefined {
  return /^[A-Za-z0-9.:[\]-]{1,255}$/.test(host) ? `"${host}"` : undefined;
}

export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, info: ForwardInfo): HeaderMap {
  const out = copyWithout(incoming, REQUEST_DROP, connectionTokens(incoming.connection), foreignCorral);
  out["x-forwarded-for"] = info.clientIp;
  out["x-forwarded-proto"] = info.proto;
  const host = info.host ? forwardedHost(info.host) : undefined;
  if (info.host) out["x-forwarded-host"] = info.host;
  out.forwarded = `for=${forwardedNode(info.clientIp)};proto=${info.proto}${host ? `;host=${host}` : ""}`;
  out["corral-tenant"] = info.tenantId;
  return setTrace(out, info.trace);
}

/**
 * Headers of a request forwarded to another node of the tenant's shard: the client's request as
 * it came (Host and API key included: the member routes and identifies it again) without what
 * only nodes may say, `corral-forwarded-by: <this slot>` so the member never forwards it again,
 * and `corral-hop` (client-origin.ts: the original client's address, signed); the traceparent names
 * this node's span, so the member's span is its child.
 */
export function peerRequestHeaders(
  incoming: IncomingHttpHeaders,
  selfSlot: string,
  hop: string,
  trace?: RequestTrace,
): HeaderMap {
  const out = copyWithout(incoming, PEER_DROP, connectionTokens(incoming.connection), foreignCorral);
  out["corral-forwarded-by"] = selfSlot;
  out["corral-hop"] = hop;
  return setTrace(out, trace);
}

/**
 * The answer's headers as the client gets them. `fromNode`: the answer comes from a shard member,
 * whose corral-* headers (corral-reason, corral-shard...) are its own; an upstream's never pass.
 */
export function clientResponseHeaders(
  upstream: Record<string, string | string[] | undefined>,
  fromNode = false,
): HeaderMap {
  return copyWithout(
    upstream,
    HOP_BY_HOP,
    connectionTokens(upstream.connection),
    fromNode ? undefined : isCorral,
  );
}
