/**
 * The stages only WebSocket upgrades pass (compose.ts WEBSOCKET_PIPELINE):
 * - `websocket`: the route must opt in (`websocket: true`), else 400 not_websocket;
 * - `sockets` (where served): a slot among the route's sockets on this node (429 quota past
 *   the route's `websocketMaxConnections`) and the node's (503 websocket_capacity past
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

export function socketsStage(sockets: OpenSockets): Stage {
  return {
    name: "sockets",
    run(ctx) {
      const route = ctx.route!;
      const slot = sockets.reserve(ctx.tenant!.id, route.id, route.websocketMaxConnections);
      if (slot === "node_full")
        return reject("CORRAL_DP_WEBSOCKET_CAPACITY", "this node holds as many WebSockets as it accepts");
      if (slot === "route_full")
        return {
          code: "CORRAL_DP_QUOTA",
          detail: `route ${route.id} has ${route.websocketMaxConnections} WebSockets open on this node, its limit`,
          headers: { "retry-after": "1" },
        };
      ctx.socketSlot = slot;
      return undefined;
    },
  };
}
