/**
 * A request's context as the pipeline gets it, the same for HTTP requests and gRPC calls: the
 * target decided once (router/request-target.ts), the normalised host, and the origin as the
 * node believes it (client-origin.ts).
 */
import type { IncomingHttpHeaders } from "node:http";
import { contextTarget } from "../router/request-target.ts";
import { normalizeHost } from "../router/route-table.ts";
import { clientOrigin, type OriginRules } from "./client-origin.ts";
import type { RequestContext } from "./stage.ts";

export interface ArrivedRequest {
  /** the request target (HTTP) or `:path` (gRPC) as received */
  target: string;
  method: string;
  /** Host (HTTP) or `:authority` (gRPC) */
  authority: string | undefined;
  headers: IncomingHttpHeaders;
  /** the socket's peer address */
  peer: string;
  /** whether the peer is a trusted proxy, when decided once for its connection (else per request) */
  peerTrusted?: boolean;
}

export function newRequestContext(r: ArrivedRequest, rules: OriginRules): RequestContext {
  const origin = clientOrigin(rules, r.peer, r.headers, r.peerTrusted);
  return {
    ...contextTarget(r.target),
    method: r.method,
    host: normalizeHost(r.authority),
    headers: r.headers,
    remoteAddress: origin.address,
    proto: origin.proto,
    forwardedBy: origin.forwardedBy,
    receivedAt: performance.now(),
    responseHeaders: {},
    onFinish: [],
  };
}
