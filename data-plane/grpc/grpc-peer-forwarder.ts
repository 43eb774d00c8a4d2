/**
 * Forwards a gRPC call to a live member of its tenant's shard (docs/design.md §4), as peer-forwarder.ts
 * does for HTTP: the placement stage put the candidate members on the context, in the order to
 * try them. The call goes over h2c to the member's gRPC ingress on a pooled session (the same
 * UpstreamSessions as upstreams: one session per member, dialled once; members that refused a
 * connection are on the node's down list, shared with the HTTP forwarder), as it came plus `corral-forwarded-by` (the member never forwards it again) and
 * grpc-timeout = the time left. The member identifies, admits and limits it; its answer —
 * headers, messages, trailers, rejections included — goes back to the client unchanged.
 *
 * The next member is tried only when the call never reached one: the session to it could not be
 * opened (nothing was sent, the client's messages are still unread). Once a stream is open, a
 * member that fails ends the call with UNAVAILABLE and no other member sees it: a call that
 * crashes its node must not crash the rest of the shard on a retry.
 */
import type { ServerHttp2Stream } from "node:http2";
import { FLEET_INTERNAL } from "../../proto/egress-policy.ts";
import type { PlainTarget } from "../model/plain-config.ts";
import { targetKey } from "../upstream/down-list.ts";
import { reject } from "../errors.ts";
import { signHop } from "../pipeline/client-origin.ts";
import type { RequestContext } from "../pipeline/stage.ts";
import type { ForwardResult } from "../ops/admission-metrics.ts";
import { memberTimeoutMs, type ShardMember } from "../placement/forwarding.ts";
import { peerGrpcHeaders } from "./grpc-headers.ts";
import { type CallRecord, type GrpcProxy, respondRejection } from "./grpc-proxy.ts";
import type { UpstreamSessions } from "./upstream-sessions.ts";

export interface GrpcPeerForwarderOptions {
  self: string;
  proxy: GrpcProxy;
  sessions: UpstreamSessions;
  /** "ok" when a member took the call, "connect_error" for each member that could not be reached */
  onResult?: (result: ForwardResult) => void;
  /** connect timeout towards members; default 1000 ms */
  connectTimeoutMs?: number;
  /** the fleet's current hop key (from the snapshot), which signs the hop */
  hopKey: () => Buffer | undefined;
  /** wall-clock ms (hops expire by it) */
  now: () => number;
}

/** A member's gRPC ingress as a target; its key on the down list is its gRPC origin. */
function memberTarget(peer: ShardMember): PlainTarget {
  const origin = `http://${peer.grpcAddress}`;
  return { url: peer.grpcAddress, origin, basePath: "", weight: 1, key: targetKey("peer", origin) };
}

export class GrpcPeerForwarder {
  readonly #o: GrpcPeerForwarderOptions;

  constructor(options: GrpcPeerForwarderOptions) {
    this.#o = options;
  }

  async forward(ctx: RequestContext, client: ServerHttp2Stream, record: CallRecord): Promise<void> {
    const { sessions, proxy } = this.#o;
    const key = this.#o.hopKey();
    const fail = (detail: string) =>
      respondRejection(client, record, reject("CORRAL_DP_SHARD_UNAVAILABLE", detail), ctx.responseHeaders);
    // without the fleet's key a member could not tell the hop from a client's forgery
    if (!key) return fail("the snapshot carries no hop key");
    const hop = signHop(key, this.#o.self, ctx.remoteAddress, this.#o.now());
    record.reason = "forwarded";
    const timeoutMs = this.#o.connectTimeoutMs ?? 1000;
    const members = ctx.forward!.peers.map(memberTarget);
    // members not down, in the rotation placement chose (all of them if every one is)
    for (const target of sessions.down.live(members, (t) => t.key)) {
      const picked = sessions.sessionTo(target, FLEET_INTERNAL, timeoutMs);
      const failed = await sessions.whenReady(picked);
      const session = picked.session;
      const opened =
        !failed &&
        proxy.relay(ctx, client, record, (remainingMs) => ({
          session,
          headers: peerGrpcHeaders(ctx.headers, {
            selfSlot: this.#o.self,
            hop,
            remainingMs,
            trace: ctx.trace,
          }),
          headersTimeoutMs: memberTimeoutMs(ctx.route!.timeoutMs, remainingMs),
          answeredBy: "forwarded",
        }));
      if (opened) {
        this.#o.onResult?.("ok");
        return;
      }
      sessions.down.markDown(target.key);
      this.#o.onResult?.("connect_error");
    }
    fail(`no member of tenant ${ctx.tenant!.id}'s shard answered`);
  }
}
