/**
 * /admin/v1/slots: the fleet's slots. Operators declare slots (name, zone, addresses) so they
 * are in placements before their nodes connect; nodes register theirs by Hello. Deleting a
 * declaration leaves a registered slot to the forget delay.
 */
import type { FastifyInstance } from "fastify";
import { documented } from "../http/server.ts";
import type { SlotDeclaration } from "../service/admin-fleet.ts";
import { type AdminContext, mutate } from "./context.ts";
import { declareSlotBody, slotList, slotParams, slotView } from "./placement-schemas.ts";

const doc = documented("placement");

type SlotParams = { name: string };

export function registerSlotRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get(
    "/slots",
    doc("Every slot declared or registered, with liveness and whether placements use it", {
      response: { 200: slotList },
    }),
    async () => ({ items: await ctx.fleet.listSlots() }),
  );

  app.get<{ Params: SlotParams }>(
    "/slots/:name",
    doc("Get a slot", { params: slotParams, response: { 200: slotView } }),
    (req) => ctx.fleet.getSlot(req.params.name),
  );

  app.put<{ Params: SlotParams; Body: SlotDeclaration }>(
    "/slots/:name",
    doc("Declare a slot (or replace its declaration): in the fleet even before its node connects", {
      params: slotParams,
      body: declareSlotBody,
      response: { 200: slotView, 201: slotView },
    }),
    (req, reply) =>
      mutate(ctx, req, reply, ctx.fleet.declareSlot(req.params.name, req.body), { grows: true }),
  );

  app.delete<{ Params: SlotParams }>(
    "/slots/:name",
    doc("Remove a slot's declaration (a registered slot then leaves after the forget delay)", {
      params: slotParams,
    }),
    (req, reply) => mutate(ctx, req, reply, ctx.fleet.undeclareSlot(req.params.name)),
  );
}
