/**
 * Forwards a request to a live member of its tenant's shard (docs/design.md §4): the placement stage put
 * the candidate members on the context, in the order to try them. The member gets the client's
 * request as it came plus `corral-forwarded-by` (it never forwards it again) and the time left
 * before the deadline; its answer, rejections included, goes back to the client unchanged.
 *
 * A member whose connection is refused goes on the node's down list (upstream/down-list.ts,
 * shared with the upstream pools and the gRPC forwarder: ejected for a few seconds, longer if
 * it keeps refusing) and the next one is tried, but only for a request without a body and only when the connection never
 * opened: a request that may have reached a member (the connection was reset while it was
 * being handled) is never sent to another one. A request that crashes its node must not crash
 * the rest of the shard on a retry.
 */
import { FLEET_INTERNAL } from "../../proto/egress-policy.ts";
import type { IncomingMessage, ServerResponse } from "node:http";
import { reject } from "../errors.ts";
import type { ForwardResult } from "../ops/admission-metrics.ts";
import { memberTimeoutMs, type ShardMember } from "../placement/forwarding.ts";
import { targetKey } from "../upstream/down-list.ts";
import { signHop } from "../pipeline/client-origin.ts";
import { peerRequestHeaders } from "../pipeline/forward-headers.ts";
import {
  deadlineHeaders,
  hasBody,
  type HttpProxy,
  type ProxyResult,
  remainingMs,
  type SendSpec,
  streamIdleMs,
} from "./http-proxy.ts";
import type { RequestContext } from "../pipeline/stage.ts";
import type { UpstreamPools } from "./upstream-pools.ts";

export interface PeerForwarderOptions {
  self: string;
  /** the fleet's current hop key (from the snapshot), which signs the hop */
  hopKey: () => Buffer | undefined;
  /** wall-clock ms: the signed hop's expiry counts from it */
  now: () => number;
  proxy: HttpProxy;
  pools: UpstreamPools;
  onResult?: (result: ForwardResult) => void;
  /** connect timeout towards members; default 1000 ms */
  connectTimeoutMs?: number;
}

/** A member's key on the down list: its HTTP ingress origin. */
function memberKey(peer: ShardMember): string {
  return targetKey("peer", URL.canParse(peer.url) ? new URL(peer.url).origin : peer.url);
}

const TIMEOUTS = new Set<string>(["CORRAL_DP_UPSTREAM_TIMEOUT", "CORRAL_DP_DEADLINE_EXCEEDED"]);

export class PeerForwarder {
  readonly #o: PeerForwarderOptions;

  constructor(options: PeerForwarderOptions) {
    this.#o = options;
  }

  async forward(ctx: RequestContext, req: IncomingMessage, res: ServerResponse): Promise<ProxyResult> {
    const key = this.#o.hopKey();
    // without the fleet's key a member could not tell the hop from a client's forgery
    if (!key) return { rejection: reject("CORRAL_DP_SHARD_UNAVAILABLE", "the snapshot carries no hop key") };
    // members not recently down, in placement's order (all of them if every one is)
    const down = this.#o.pools.down;
    const candidates = down.live(ctx.forward!.peers, memberKey);
    const retryable = !hasBody(req);
    for (const [i, peer] of candidates.entries()) {
      const result = await this.#sendTo(peer, key, ctx, req, res);
      if ("held" in result) continue; // never: a member's answer is not held (#sendTo sets no hold)
      if (!("connectFailed" in result)) return result;
      down.markDown(memberKey(peer));
      this.#o.onResult?.(result.maybeSent ? "error" : "connect_error");
      const more = i + 1 < candidates.length;
      if (result.maybeSent)
        return { rejection: reject("CORRAL_DP_UPSTREAM_ERROR", `shard member ${peer.slot} failed`) };
      if (!retryable || !more) break;
    }
    return {
      rejection: reject(
        "CORRAL_DP_SHARD_UNAVAILABLE",
        `no member of tenant ${ctx.tenant!.id}'s shard answered`,
      ),
    };
  }

  async #sendTo(
    peer: ShardMember,
    key: Buffer,
    ctx: RequestContext,
    req: IncomingMessage,
    res: ServerResponse,
  ) {
    const route = ctx.route!;
    const origin = new URL(peer.url).origin;
    const target = { url: origin, origin, basePath: "", weight: 1, key: memberKey(peer) };
    const pool = this.#o.pools.poolTo(target, FLEET_INTERNAL, this.#o.connectTimeoutMs ?? 1000);
    const remaining = remainingMs(ctx);
    const hop = signHop(key, this.#o.self, ctx.remoteAddress, this.#o.now());
    const headers = peerRequestHeaders(req.headers, this.#o.self, hop, ctx.trace);
    const spec: SendSpec = {
      picked: { target, pool },
      path: ctx.url,
      headers: deadlineHeaders(headers, remaining, false),
      timeoutMs: memberTimeoutMs(route.timeoutMs, remaining),
      deadlineBound: remaining !== undefined && remaining < route.timeoutMs,
      fromNode: true,
    };
    spec.bodyIdleMs = streamIdleMs(route, spec);
    const result = await this.#o.proxy.send(ctx, req, res, spec);
    if ("response" in result) this.#o.onResult?.("ok");
    else if ("rejection" in result)
      this.#o.onResult?.(TIMEOUTS.has(result.rejection.code) ? "timeout" : "error");
    return result;
  }
}
