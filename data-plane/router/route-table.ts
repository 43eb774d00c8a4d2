/**
 * Route matching within one tenant (pure): protocol (http or grpc: the ingress the request came
 * in on), host (when the route names hosts; case-insensitive,
 * port ignored), longest path prefix on segment boundaries, then method (when the route names
 * methods). Lookup walks the request path's own prefixes from longest to shortest, so the cost
 * grows with path depth, not with the tenant's number of routes.
 */
import type { EgressPolicy } from "../../proto/egress-policy.ts";
import type { PlainRoute, PlainUpstream, RouteProtocol } from "../model/plain-config.ts";

export interface CompiledRoute extends PlainRoute {
  readonly tenantId: string;
  readonly upstream: PlainUpstream;
  /** where the upstream may be reached: the fleet's and the tenant's egress exceptions */
  readonly egress: EgressPolicy;
}

/** Lower case and without the port: "API.example.com:8443" -> "api.example.com", "[::1]:80" -> "[::1]". */
export function normalizeHost(host: string | undefined): string {
  if (!host) return "";
  const h = host.toLowerCase();
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    return end === -1 ? h : h.slice(0, end + 1);
  }
  const colon = h.indexOf(":");
  return colon === -1 ? h : h.slice(0, colon);
}

/** Routes naming hosts and methods are more specific: they are tried first at the same prefix. */
function specificity(r: PlainRoute): number {
  return (r.hosts.length > 0 ? 2 : 0) + (r.methods.length > 0 ? 1 : 0);
}

function accepts(route: CompiledRoute, host: string, method: string, protocol: RouteProtocol): boolean {
  if (route.protocol !== protocol) return false;
  if (route.hosts.length > 0 && !route.hosts.includes(host)) return false;
  if (route.methods.length > 0 && !route.methods.includes(method)) return false;
  return true;
}

export class TenantRoutes {
  private readonly byPrefix = new Map<string, CompiledRoute[]>();

  constructor(routes: readonly CompiledRoute[]) {
    for (const r of routes) {
      const list = this.byPrefix.get(r.pathPrefix) ?? [];
      list.push(r);
      this.byPrefix.set(r.pathPrefix, list);
    }
    for (const list of this.byPrefix.values()) list.sort((a, b) => specificity(b) - specificity(a));
  }

  get size(): number {
    let n = 0;
    for (const list of this.byPrefix.values()) n += list.length;
    return n;
  }

  /** The route with this id (a config change asks whether an open WebSocket's route is still there). */
  byId(id: string): CompiledRoute | undefined {
    for (const list of this.byPrefix.values()) for (const r of list) if (r.id === id) return r;
    return undefined;
  }

  /**
   * @param host normalised host (normalizeHost)
   * @param path request path without the query, starting with "/"
   * @param method upper-case HTTP method
   * @param protocol the ingress the request came in on: only its routes match
   */
  match(
    host: string,
    path: string,
    method: string,
    protocol: RouteProtocol = "http",
  ): CompiledRoute | undefined {
    if (path.charCodeAt(0) !== 47 /* / */) return undefined;
    let candidate = path.length > 1 && path.endsWith("/") ? path.replace(/\/+$/, "") || "/" : path;
    for (;;) {
      const routes = this.byPrefix.get(candidate);
      if (routes) for (const r of routes) if (accepts(r, host, method, protocol)) return r;
      if (candidate === "/") return undefined;
      const cut = candidate.lastIndexOf("/");
      candidate = cut <= 0 ? "/" : candidate.slice(0, cut);
    }
  }
}

/** The path the upstream sees: the prefix removed when the route says so, under the target's base path. */
export function upstreamPath(route: PlainRoute, basePath: string, pathAndQuery: string): string {
  let rest = pathAndQuery;
  if (route.stripPrefix && route.pathPrefix !== "/") {
    rest = pathAndQuery.slice(route.pathPrefix.length);
    if (rest === "" || rest[0] === "?") rest = `/${rest}`;
  }
  return basePath + rest;
}
