/**
 * /admin/v1/slots: the fleet's slots. Operators declare slots (name, zone, addresses) so they
 * are in placements before their nodes connect; nodes register theirs by Hello. Deleting a
 * declaration leaves a registered slot to the forget delay.
 */
import type { FastifyInstance } from "fastify";
import { CorralError } from "../errors.ts";
import type { SlotView } from "../placement/fleet-slots.ts";
import type { Queryable } from "../store/db.ts";
import { declareSlot, type SlotDeclaration, undeclareSlot } from "../store/slots.ts";
import { type AdminContext, mutate } from "./context.ts";
import { declareSlotBody, slotList, slotParams, slotView } from "./placement-schemas.ts";
import { invalid } from "./validate.ts";

type SlotParams = { name: string };
const notFound = (name: string) => new CorralError("CORRAL_ADMIN_NOT_FOUND", `slot ${name} not found`);

function checkDeclaration(d: SlotDeclaration): void {
  if (d.httpUrl !== undefined) {
    const port = URL.canParse(d.httpUrl) ? new URL(d.httpUrl).port : "x";
    if (port !== "" && !(Number(port) >= 1 && Number(port) <= 65535))
      throw invalid("body/httpUrl", "is not a valid http(s) URL with a port from 1 to 65535");
  }
  if (d.grpcAddress !== undefined) {
    const port = Number(d.grpcAddress.slice(d.grpcAddress.lastIndexOf(":") + 1));
    if (!(port >= 1 && port <= 65535)) throw invalid("body/grpcAddress", "has a port outside 1-65535");
  }
}

export function registerSlotRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const find = async (name: string, q: Queryable = ctx.pool): Promise<SlotView | undefined> =>
    (await ctx.placement.slotViews(q)).find((s) => s.name === name);

  app.get(
    "/slots",
    {
      schema: {
        summary: "Every slot declared or registered, with liveness and whether placements use it",
        tags: ["placement"],
        response: { 200: slotList },
      },
    },
    async () => ({ items: await ctx.placement.slotViews() }),
  );

  app.get<{ Params: SlotParams }>(
    "/slots/:name",
    {
      schema: { summary: "Get a slot", tags: ["placement"], params: slotParams, response: { 200: slotView } },
    },
    async (req) => (await find(req.params.name)) ?? Promise.reject(notFound(req.params.name)),
  );

  app.put<{ Params: SlotParams; Body: SlotDeclaration }>(
    "/slots/:name",
    {
      schema: {
        summary: "Declare a slot (or replace its declaration): in the fleet even before its node connects",
        tags: ["placement"],
        params: slotParams,
        body: declareSlotBody,
        response: { 200: slotView, 201: slotView },
      },
    },
    (req, reply) => {
      checkDeclaration(req.body);
      return mutate(
        ctx,
        req,
        reply,
        async (tx) => {
          const { created } = await declareSlot(tx, req.params.name, req.body);
          return { status: created ? 201 : 200, body: await find(req.params.name, tx) };
        },
        { grows: true },
      );
    },
  );

  app.delete<{ Params: SlotParams }>(
    "/slots/:name",
    {
      schema: {
        summary: "Remove a slot's declaration (a registered slot then leaves after the forget delay)",
        tags: ["placement"],
        params: slotParams,
      },
    },
    (req, reply) =>
      mutate(ctx, req, reply, async (tx) => {
        if (!(await undeclareSlot(tx, req.params.name))) {
          throw new CorralError("CORRAL_ADMIN_NOT_FOUND", `slot ${req.params.name} is not declared`);
        }
        return { status: 204, body: null };
      }),
  );
}
