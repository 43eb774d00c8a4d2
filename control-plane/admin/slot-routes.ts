/**
 * /admin/v1/slots: the fleet's slots. Operators declare slots (name, zone, addresses) so they
 * are in placements before their nodes connect; nodes register theirs by Hello. Deleting a
 * declaration leaves a registered slot to the forget delay.
 */
import type { FastifyInstance } from "fastify";
import type { SlotDeclaration } from "../service/admin-fleet.ts";
import type { AdminContext } from "./context.ts";
import { registerNamedResource } from "./named-resource.ts";
import { declareSlotBody, slotList, slotParams, slotView } from "./placement-schemas.ts";

export function registerSlotRoutes(app: FastifyInstance, ctx: AdminContext): void {
  registerNamedResource<SlotDeclaration>(app, ctx, {
    path: "/slots",
    tag: "placement",
    schemas: { params: slotParams, item: slotView, list: slotList, body: declareSlotBody },
    summaries: {
      list: "Every slot declared or registered, with liveness and whether placements use it",
      get: "Get a slot",
      put: "Declare a slot (or replace its declaration): in the fleet even before its node connects",
      remove: "Remove a slot's declaration (a registered slot then leaves after the forget delay)",
    },
    list: () => ctx.fleet.listSlots(),
    get: (name) => ctx.fleet.getSlot(name),
    put: (name, declaration) => ctx.fleet.declareSlot(name, declaration),
    remove: (name) => ctx.fleet.undeclareSlot(name),
    grows: true,
  });
}
