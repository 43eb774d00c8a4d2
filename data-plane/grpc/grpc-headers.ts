/**
 * Metadata rewriting for gRPC calls at the proxy boundary (pure). The same rules as HTTP
 * (forward-headers.ts): Corral's credentials and a client's own corral-tenant never reach the
 * upstream; corral-tenant and x-forwarded-* are set by the node; pseudo-headers never cross (the
 * copies there skip them). On top of that: pseudo-headers are rebuilt for the upstream, `te: trailers` is kept, and grpc-timeout carries the time left.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import { problemBody, type Rejection, REQUEST_ERRORS } from "../errors.ts";
import {
  clientResponseHeaders,
  peerRequestHeaders,
  upstreamRequestHeaders,
} from "../pipeline/forward-headers.ts";
import type { RequestTrace } from "../../runtime/trace-context.ts";
import { encodeGrpcMessage, encodeGrpcTimeout } from "./grpc-wire.ts";

export interface UpstreamCall {
  tenantId: string;
  clientIp: string;
  /** scheme://host:port of the upstream target (a URL's origin) */
  origin: string;
  /** :path for the upstream (/package.Service/Method, under the target's base path) */
  path: string;
  /** ms left before the call's deadline; undefined: the client set none */
  remainingMs: number | undefined;
  /** the call's trace: sent on with the node's span as the parent */
  trace?: RequestTrace;
}

/** The gRPC request around rewritten metadata: pseudo-headers, te, grpc-timeout = the time left. */
function grpcRequest(
  out: OutgoingHttpHeaders,
  to: { scheme: string; authority: string | undefined; path: string; remainingMs: number | undefined },
): OutgoingHttpHeaders {
  // replaced in place: a delete would turn the object into a slow dictionary for what follows
  if (to.remainingMs !== undefined) out["grpc-timeout"] = encodeGrpcTimeout(to.remainingMs);
  else if (out["grpc-timeout"] !== undefined) delete out["grpc-timeout"];
  out.te = "trailers";
  out[":method"] = "POST";
  out[":scheme"] = to.scheme;
  if (to.authority !== undefined) out[":authority"] = to.authority;
  out[":path"] = to.path;
  return out;
}

export function upstreamGrpcHeaders(incoming: IncomingHttpHeaders, call: UpstreamCall): OutgoingHttpHeaders {
  // a URL's origin is scheme://authority: split it rather than parse a URL per call
  const sep = call.origin.indexOf("://");
  const out: OutgoingHttpHeaders = upstreamRequestHeaders(incoming, {
    tenantId: call.tenantId,
    clientIp: call.clientIp,
    host: incoming[":authority"],
    proto: "http",
    trace: call.trace,
  });
  return grpcRequest(out, {
    scheme: call.origin.slice(0, sep),
    authority: call.origin.slice(sep + 3),
    path: call.path,
    remainingMs: call.remainingMs,
  });
}

export interface PeerCall {
  /** this node's slot, sent as corral-forwarded-by */
  selfSlot: string;
  /** corral-hop: the client's address signed with the fleet's hop key (client-origin.ts signHop) */
  hop: string;
  /** ms left before the call's deadline; undefined: the client set none */
  remainingMs: number | undefined;
  /** the call's trace: the member's span becomes a child of this node's */
  trace?: RequestTrace;
}

/**
 * Metadata of a call forwarded to a member of its tenant's shard: the call as it came (API key
 * and :authority included: the member identifies and routes it again), with the same hop rules
 * as HTTP (peerRequestHeaders: corral-forwarded-by set, so the member never forwards it again,
 * and the client's address in the signed corral-hop) and grpc-timeout = the time left.
 */
export function peerGrpcHeaders(incoming: IncomingHttpHeaders, call: PeerCall): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = peerRequestHeaders(incoming, call.selfSlot, call.hop, call.trace);
  delete out["corral-timeout-ms"];
  return grpcRequest(out, {
    scheme: "http",
    authority: incoming[":authority"],
    path: incoming[":path"] ?? "/",
    remainingMs: call.remainingMs,
  });
}

/**
 * Response headers or trailers as the client gets them: no pseudo or hop-by-hop headers, and no
 * corral-* ones unless a shard member answered (`fromNode`: its corral-reason is its own).
 */
export function clientGrpcHeaders(upstream: IncomingHttpHeaders, fromNode = false): OutgoingHttpHeaders {
  return clientResponseHeaders(upstream, fromNode);
}

/** HTTP/2 header names are lower case (Retry-After, RateLimit-Policy from admission stages). */
export function lowerCaseNames(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  return out;
}

/** A call's status as trailers (or, with :status, a trailers-only response). */
export function statusTrailers(code: number, message: string, reason?: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { "grpc-status": String(code) };
  if (message) out["grpc-message"] = encodeGrpcMessage(message);
  if (reason) out["corral-reason"] = reason;
  return out;
}

/**
 * A rejection as a trailers-only response: HTTP 200, content-type application/grpc, the
 * catalogue's gRPC status, detail as grpc-message, corral-reason, and the rejection's headers.
 */
export function rejectionTrailers(
  rejection: Rejection,
  extra: Record<string, string> = {},
): OutgoingHttpHeaders {
  const spec = REQUEST_ERRORS[rejection.code];
  const detail = problemBody(rejection).detail;
  return {
    ...lowerCaseNames(extra),
    ...lowerCaseNames(rejection.headers ?? {}),
    ":status": 200,
    "content-type": "application/grpc",
    ...statusTrailers(spec.grpc, `${rejection.code}: ${detail}`, spec.reason),
  };
}
