/**
 * Header rewriting at the proxy boundary (pure). Hop-by-hop headers (RFC 9110 §7.6.1, plus any
 * named in Connection) never cross. Credentials meant for Corral (x-api-key, Authorization) and
 * a client's own corral-tenant never reach the upstream; corral-tenant and x-forwarded-* are set
 * by the node.
 */
import type { IncomingHttpHeaders } from "node:http";

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

/** Never forwarded upstream: Corral's credentials, headers the node sets, and ones undici refuses. */
const REQUEST_DROP = new Set([
  ...HOP_BY_HOP,
  "host",
  "x-api-key",
  "authorization",
  "corral-tenant",
  "corral-forwarded-by",
  "expect",
]);
/** Never forwarded to a shard member: the member identifies the tenant again, so credentials stay. */
const PEER_DROP = new Set([...HOP_BY_HOP, "corral-tenant", "corral-forwarded-by", "expect"]);

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

function copyWithout(
  headers: Record<string, string | string[] | undefined>,
  drop: ReadonlySet<string>,
  named: ReadonlySet<string> | undefined,
): HeaderMap {
  const out: HeaderMap = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || drop.has(name) || named?.has(name)) continue;
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
}

export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, info: ForwardInfo): HeaderMap {
  const out = copyWithout(incoming, REQUEST_DROP, connectionTokens(incoming.connection));
  const prior = incoming["x-forwarded-for"];
  const priorList = Array.isArray(prior) ? prior.join(", ") : prior;
  out["x-forwarded-for"] = priorList ? `${priorList}, ${info.clientIp}` : info.clientIp;
  out["x-forwarded-proto"] = info.proto;
  if (info.host) out["x-forwarded-host"] = info.host;
  out["corral-tenant"] = info.tenantId;
  return out;
}

/**
 * Headers of a request forwarded to another node of the tenant's shard: the client's request as
 * it came (Host and API key included: the member routes and identifies it again), the client's
 * address appended to x-forwarded-for, and `corral-forwarded-by: <this slot>` so the member
 * never forwards it again.
 */
export function peerRequestHeaders(
  incoming: IncomingHttpHeaders,
  clientIp: string,
  selfSlot: string,
): HeaderMap {
  const out = copyWithout(incoming, PEER_DROP, connectionTokens(incoming.connection));
  const prior = incoming["x-forwarded-for"];
  const priorList = Array.isArray(prior) ? prior.join(", ") : prior;
  out["x-forwarded-for"] = priorList ? `${priorList}, ${clientIp}` : clientIp;
  out["corral-forwarded-by"] = selfSlot;
  return out;
}

export function clientResponseHeaders(upstream: Record<string, string | string[] | undefined>): HeaderMap {
  return copyWithout(upstream, HOP_BY_HOP, connectionTokens(upstream.connection));
}
