/**
 * The stages only WebSocket upgrades pass (compose.ts WEBSOCKET_PIPELINE):
 * - `websocket`: the route must opt in (`websocket: true`), else 400 not_websocket;
 * - `sockets` (where served): a slot among the route's sockets on this node (429 quota past
 *   the route's `websocketMaxConnections`), the tenant's (429 quota past
 *   CORRAL_WS_MAX_SOCKETS_PER_TENANT) and the node's (503 websocket_capacity past
 *   CORRAL_WS_MAX_SOCKETS), held until the socket closes (open-sockets.ts).
 */
import { reject } from "../errors.ts";
import type { OpenSockets } from "./open-sockets.ts";
import type { Stage } from "./stage.ts";

export function websocketStage(): Stage {
  return {
    name: "websocket",
    run: (ctx) =>
      ctx.route!.websocket
        ? undefined
        : reject("CORRAL_DP_NOT_WEBSOCKET", `route ${ctx.route!.id} does not accept WebSocket upgrades`),
  };
}

/** 429 quota: one of the tenant's own socket caps; a slot frees when one of its sockets closes. */
const socketQuota = (detail: string) => reject("CORRAL_DP_QUOTA", detail, { "retry-after": "1" });

export function socketsStage(sockets: OpenSockets): Stage {
  return {
    name: "sockets",
    run(ctx) {
      const route = ctx.route!;
      const slot = sockets.reserve(ctx.tenant!.id, route.id, route.websocketMaxConnections);
      if (slot === "node_full")
        return reject("CORRAL_DP_WEBSOCKET_CAPACITY", "this node holds as many WebSockets as it accepts");
      if (slot === "route_full")
        return socketQuota(
          `route ${route.id} has ${route.websocketMaxConnections} WebSockets open on this node, its limit`,
        );
      if (slot === "tenant_full")
        return socketQuota(
          `tenant ${ctx.tenant!.id} has as many WebSockets open on this node as a tenant may`,
        );
      ctx.socketSlot = slot;
      return undefined;
    },
  };
}
