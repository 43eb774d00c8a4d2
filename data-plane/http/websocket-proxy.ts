/**
 * WebSocket upgrades on the HTTP ingress (docs/design.md §6.4). The handshake passes the
 * WebSocket pipeline (pipeline/compose.ts WEBSOCKET_PIPELINE: identify, route, the route's
 * opt-in, shedding, placement, the buckets, the socket caps); then the node dials the route's
 * upstream — or, when placement forwards, a member of the tenant's shard with a signed
 * corral-hop like any forward — with the `ws` client, and only once that side answered 101 does
 * it complete the client's handshake, with the upstream's 101 headers filtered like any
 * response and its chosen subprotocol. From then on websocket-relay.ts relays the two sockets.
 *
 * Why `ws` on both sides and not a raw socket pipe after the 101: the node must bound message
 * sizes (the route's `websocketMaxMessageBytes`, close 1009), see every frame for the idle
 * timeout and the metrics, and close sockets itself with 1001 (route removed, draining); a
 * byte pipe could do none of it. Compression is off both ways (no inflate bombs).
 *
 * The upstream connection passes the egress policy at connect time: an address host is judged
 * before dialling, a name by the guarded lookup (every address it resolves to). A non-101
 * answer of the upstream (or member) goes back to the client as it came (status, filtered
 * headers, at most MAX_REFUSAL_BODY bytes of body).
 */
import { CIRCUIT_OPEN } from "../upstream/upstream-upkeep.ts";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { WebSocket, WebSocketServer } from "ws";
import { checkHost, FLEET_INTERNAL, type EgressPolicy } from "../../proto/egress-policy.ts";
import { problemBody, type Rejection, REQUEST_ERRORS, reject } from "../errors.ts";
import {
  EGRESS_DENIED,
  type EgressDenialListener,
  guardedLookup,
  originPort,
} from "../egress/egress-connect.ts";
import { effectivePriority } from "../admission/index.ts";
import type { DataPlaneMetrics } from "../ops/metrics.ts";
import type { WebSocketMetrics } from "../ops/websocket-metrics.ts";
import { type OriginRules, signHop } from "../pipeline/client-origin.ts";
import {
  clientResponseHeaders,
  type HeaderMap,
  peerRequestHeaders,
  upstreamRequestHeaders,
} from "../pipeline/forward-headers.ts";
import type { OpenSockets } from "../pipeline/open-sockets.ts";
import { newRequestContext } from "../pipeline/request-context.ts";
import { type RequestContext, type Stage, whenStagesRun } from "../pipeline/stage.ts";
import type { RequestMeter } from "../pipeline/usage-metering.ts";
import { upstreamPath } from "../router/route-table.ts";
import type { UpstreamPools } from "./upstream-pools.ts";
import { WebSocketRelay } from "./websocket-relay.ts";

/** Bytes of a refusing upstream's body passed to the client; the rest is dropped. */
const MAX_REFUSAL_BODY = 64 * 1024;
const KEY_RE = /^[+/0-9A-Za-z]{22}==$/;
/** Handshake headers the node's own client sets towards the upstream. */
const HANDSHAKE_HEADERS = ["sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions"];

export interface WebSocketProxyOptions {
  stages: readonly Stage[];
  origin: OriginRules;
  pools: UpstreamPools;
  sockets: OpenSockets;
  metrics: DataPlaneMetrics;
  socketMetrics: WebSocketMetrics;
  logger: Logger;
  onEgressDenied: EgressDenialListener;
  /** this node's slot, the fleet's hop key and the wall clock: what a forward to a member needs */
  self: string;
  hopKey: () => Buffer | undefined;
  now: () => number;
  /** connect bound towards shard members */
  peerConnectTimeoutMs?: number;
  /** counts each upgrade's verdict for usage metering */
  usage?: RequestMeter;
}

/** Where the upgrade goes: the upstream, or one member of the shard. */
interface Dial {
  url: string;
  headers: HeaderMap;
  egress: EgressPolicy;
  timeoutMs: number;
  fromNode: boolean;
}

/** A well-formed client handshake (what ws's server would accept), else why not. */
export function handshakeProblem(req: IncomingMessage): string | undefined {
  if (req.method !== "GET") return "a WebSocket handshake is a GET";
  if (req.headers.upgrade?.toLowerCase() !== "websocket") return "Upgrade must be websocket";
  const key = req.headers["sec-websocket-key"];
  if (typeof key !== "string" || !KEY_RE.test(key)) return "missing or malformed Sec-WebSocket-Key";
  const version = req.headers["sec-websocket-version"];
  if (version !== "13" && version !== "8") return "Sec-WebSocket-Version must be 13";
  return undefined;
}

function withoutHandshake(headers: HeaderMap): HeaderMap {
  for (const name of HANDSHAKE_HEADERS) delete headers[name];
  delete headers["sec-websocket-protocol"];
  return headers;
}

/** The raw HTTP/1.1 answer written on the socket of a refused upgrade. */
function rawAnswer(
  status: number,
  title: string,
  headers: HeaderMap,
  body: Buffer | string,
): string | Buffer {
  let head = `HTTP/1.1 ${status} ${title}\r\nconnection: close\r\n`;
  for (const [name, value] of Object.entries(headers))
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${v}\r\n`;
  head += `content-length: ${Buffer.byteLength(body)}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), Buffer.from(body)]);
}

function protocolsOf(req: IncomingMessage): string[] {
  const raw = req.headers["sec-websocket-protocol"];
  if (!raw) return [];
  return raw
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
}

export class WebSocketProxy {
  readonly #o: WebSocketProxyOptions;

  constructor(options: WebSocketProxyOptions) {
    this.#o = options;
  }

  /** The HTTP server's `upgrade` event. */
  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => {}); // a reset client is the close listener's business
    const ctx = newRequestContext(
      {
        target: req.url ?? "/",
        method: req.method ?? "GET",
        authority: req.headers.host,
        headers: req.headers,
        peer: req.socket.remoteAddress ?? "",
      },
      this.#o.origin,
    );
    const problem = handshakeProblem(req);
    if (problem) {
      this.#refuse(ctx, socket, reject("CORRAL_DP_NOT_WEBSOCKET", problem));
      return;
    }
    whenStagesRun(
      this.#o.stages,
      ctx,
      (rejection) => {
        this.#o.usage?.answered(ctx, rejection);
        if (rejection) this.#refuse(ctx, socket, rejection);
        else this.#dial(ctx, req, socket, head);
      },
      (err) => {
        this.#o.logger.error({ err }, "upgrade failed");
        this.#refuse(ctx, socket, reject("CORRAL_DP_INTERNAL"));
      },
    );
  }

  /** The handshake is answered: the request's admission releases, the metrics and the log line. */
  #answered(ctx: RequestContext, status: number, reason: string): void {
    for (const fn of ctx.onFinish) fn(status, reason);
    const seconds = (performance.now() - ctx.receivedAt) / 1000;
    this.#o.metrics.recordRequest(reason, status, seconds);
    if (status !== 101)
      this.#o.logger.info(
        {
          method: "GET",
          path: ctx.path,
          status,
          reason,
          tenant: ctx.tenant?.id,
          route: ctx.route?.id,
          upgrade: true,
        },
        "request",
      );
  }

  #refuse(ctx: RequestContext, socket: Duplex, rejection: Rejection): void {
    ctx.socketSlot?.release();
    const spec = REQUEST_ERRORS[rejection.code];
    const headers: HeaderMap = {
      ...ctx.responseHeaders,
      ...rejection.headers,
      "corral-reason": spec.reason,
      "content-type": "application/problem+json; charset=utf-8",
    };
    if (socket.writable)
      socket.end(rawAnswer(spec.status, spec.title, headers, JSON.stringify(problemBody(rejection))));
    else socket.destroy();
    this.#answered(ctx, spec.status, spec.reason);
  }

  /** The upstream, or the shard members in placement's order. */
  #dials(ctx: RequestContext, req: IncomingMessage): Dial[] | Rejection {
    const route = ctx.route!;
    if (ctx.forward) {
      const key = this.#o.hopKey();
      if (!key) return reject("CORRAL_DP_SHARD_UNAVAILABLE", "the snapshot carries no hop key");
      const hop = signHop(key, this.#o.self, ctx.remoteAddress, this.#o.now());
      return ctx.forward.peers.map((peer) => ({
        url: wsUrl(new URL(peer.url).origin, ctx.url),
        headers: withoutHandshake(peerRequestHeaders(req.headers, this.#o.self, hop)),
        egress: FLEET_INTERNAL,
        timeoutMs: Math.min(route.timeoutMs, this.#o.peerConnectTimeoutMs ?? 5000),
        fromNode: true,
      }));
    }
    const picked = this.#o.pools.pick(route.upstream, route.egress);
    if (!picked) return reject("CORRAL_DP_UPSTREAM_ERROR", "the upstream has no targets");
    if (picked === CIRCUIT_OPEN)
      return reject("CORRAL_DP_CIRCUIT_OPEN", "every target of the upstream is ejected");
    // a socket is not a request the balancer should count while it lives: the pick is done
    picked.lease.end("neutral");
    const headers = upstreamRequestHeaders(req.headers, {
      tenantId: ctx.tenant!.id,
      clientIp: ctx.remoteAddress,
      host: req.headers.host,
      proto: ctx.proto,
    });
    return [
      {
        url: wsUrl(picked.target.origin, upstreamPath(route, picked.target.basePath, ctx.url)),
        headers: withoutHandshake(headers),
        egress: route.egress,
        timeoutMs: route.timeoutMs,
        fromNode: false,
      },
    ];
  }

  #dial(ctx: RequestContext, req: IncomingMessage, socket: Duplex, head: Buffer, attempt = 0): void {
    const dials = this.#dials(ctx, req);
    if (!Array.isArray(dials)) {
      this.#refuse(ctx, socket, dials);
      return;
    }
    const dial = dials[attempt]!;
    const target = new URL(dial.url);
    const port = originPort(target.origin.replace(/^ws/, "http"));
    const guard = { policy: dial.egress, onDenied: this.#o.onEgressDenied };
    const denial = checkHost(dial.egress, target.hostname.replace(/^\[|\]$/g, ""), port);
    if (denial !== undefined) {
      this.#o.onEgressDenied(target.hostname, port, denial);
      this.#refuse(ctx, socket, reject("CORRAL_DP_EGRESS_DENIED", `egress refused: ${denial}`));
      return;
    }
    const maxPayload = ctx.route!.websocketMaxMessageBytes;
    const upstream = new WebSocket(dial.url, protocolsOf(req), {
      headers: dial.headers as Record<string, string>,
      perMessageDeflate: false,
      maxPayload,
      autoPong: false,
      followRedirects: false,
      handshakeTimeout: dial.timeoutMs,
      lookup: guardedLookup(guard, port),
    });
    let upgradeHeaders: HeaderMap = {};
    let settled = false;
    /** the first outcome wins: the client went, the upstream answered, failed or took too long */
    const settle = () => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      socket.off("close", clientGone);
      return true;
    };
    const clientGone = () => {
      if (!settle()) return;
      upstream.terminate();
      ctx.socketSlot?.release();
      this.#answered(ctx, 499, "client_gone");
    };
    // ws's handshakeTimeout only bounds silence; this bounds the whole handshake (a trickling upstream)
    const timer = setTimeout(() => {
      if (!settle()) return;
      upstream.terminate();
      this.#refuse(
        ctx,
        socket,
        reject("CORRAL_DP_UPSTREAM_TIMEOUT", "the upstream did not answer the upgrade in time"),
      );
    }, dial.timeoutMs);
    socket.once("close", clientGone);
    upstream.on("upgrade", (res) => {
      upgradeHeaders = clientResponseHeaders(res.headers, dial.fromNode);
    });
    upstream.on("unexpected-response", (_request, res) => {
      if (!settle()) return;
      this.#relayRefusal(ctx, socket, res, dial, () => upstream.terminate());
    });
    upstream.on("error", (err) => {
      if (!settle()) return;
      const more = attempt + 1 < dials.length;
      if (dial.fromNode && more && isRefused(err)) {
        this.#dial(ctx, req, socket, head, attempt + 1);
        return;
      }
      this.#refuse(ctx, socket, dialFailure(err, dial.fromNode));
    });
    upstream.on("open", () => {
      if (!settle()) {
        upstream.terminate();
        return;
      }
      this.#accept(ctx, req, socket, head, upstream, upgradeHeaders, dial.fromNode);
    });
  }

  /** The upstream said 101: the client's handshake completes the same way, then the relay runs. */
  #accept(
    ctx: RequestContext,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    upstream: WebSocket,
    upgradeHeaders: HeaderMap,
    fromNode: boolean,
  ): void {
    const route = ctx.route!;
    const server = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: route.websocketMaxMessageBytes,
      autoPong: false,
      handleProtocols: () => upstream.protocol || false,
    });
    server.on("headers", (lines) => {
      const extra = { ...upgradeHeaders, ...ctx.responseHeaders };
      for (const [name, value] of Object.entries(extra)) {
        if (name.startsWith("sec-websocket-")) continue;
        for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
      }
    });
    const slot = ctx.socketSlot;
    const priority = effectivePriority(ctx.tenant!.limits?.priority, undefined);
    const lost = () => {
      upstream.terminate();
      slot?.release();
      this.#answered(ctx, 499, "client_gone");
    };
    socket.once("close", lost);
    server.handleUpgrade(req, socket, head, (client) => {
      socket.off("close", lost);
      this.#answered(ctx, 101, fromNode ? "forwarded" : "upstream");
      this.#o.socketMetrics.opened(priority);
      const relay = new WebSocketRelay(client, upstream, {
        idleTimeoutMs: route.websocketIdleTimeoutMs,
        metrics: this.#o.socketMetrics,
        onClosed: (why) => {
          slot?.release();
          this.#o.socketMetrics.closed(priority, why);
          const seconds = Math.round(performance.now() - ctx.receivedAt) / 1000;
          this.#o.logger.info(
            { path: ctx.path, status: 101, tenant: ctx.tenant?.id, route: route.id, why, seconds },
            "websocket closed",
          );
        },
      });
      slot?.attach(relay);
    });
  }

  /**
   * A non-101 answer of the upstream or member, to the client as it came: at most
   * MAX_REFUSAL_BODY bytes of its body, read for at most the dial's timeout.
   */
  #relayRefusal(
    ctx: RequestContext,
    socket: Duplex,
    res: IncomingMessage,
    dial: Dial,
    hangUp: () => void,
  ): void {
    ctx.socketSlot?.release();
    const { fromNode } = dial;
    const chunks: Buffer[] = [];
    let size = 0;
    let answered = false;
    const cut = setTimeout(() => done(), dial.timeoutMs);
    const done = () => {
      if (answered) return;
      answered = true;
      clearTimeout(cut);
      hangUp();
      const status = res.statusCode ?? 502;
      const headers = clientResponseHeaders(res.headers, fromNode);
      delete headers["content-length"];
      const reason = fromNode ? String(res.headers["corral-reason"] ?? "forwarded") : "upstream";
      if (socket.writable)
        socket.end(
          rawAnswer(
            status,
            res.statusMessage ?? "",
            { ...headers, ...ctx.responseHeaders },
            Buffer.concat(chunks),
          ),
        );
      this.#answered(ctx, status, REASONS.has(reason) ? reason : "forwarded");
    };
    res.on("data", (chunk: Buffer) => {
      const part = chunk.subarray(0, MAX_REFUSAL_BODY - size);
      chunks.push(part);
      size += part.length;
      if (size >= MAX_REFUSAL_BODY) done();
    });
    res.once("end", done);
    res.once("error", done);
    res.once("close", done);
  }
}

/** corral-reason values a member's refusal may carry into this node's metrics (bounded). */
const REASONS = new Set<string>([
  "upstream",
  "forwarded",
  ...Object.values(REQUEST_ERRORS).map((e) => e.reason as string),
]);

function wsUrl(origin: string, pathAndQuery: string): string {
  return `${origin.replace(/^http/, "ws")}${pathAndQuery}`;
}

function isRefused(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === "ECONNREFUSED" || code === "EHOSTUNREACH" || code === "ENETUNREACH";
}

function dialFailure(err: unknown, fromNode: boolean): Rejection {
  const e = err as Error & { code?: string };
  if (e.code === EGRESS_DENIED) return reject("CORRAL_DP_EGRESS_DENIED", e.message);
  if (/handshake has timed out/.test(e.message))
    return reject("CORRAL_DP_UPSTREAM_TIMEOUT", "the upstream did not answer the upgrade in time");
  if (fromNode)
    return reject("CORRAL_DP_SHARD_UNAVAILABLE", "no member of the tenant's shard took the upgrade");
  return reject("CORRAL_DP_UPSTREAM_ERROR", "the upstream could not be reached");
}
