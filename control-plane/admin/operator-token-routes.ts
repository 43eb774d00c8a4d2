/**
 * /admin/v1/whoami: the calling operator's id, name and role (any role; the console greys out
 * what a viewer may not do). /admin/v1/operator-tokens: create (the token is in that response
 * only), list, revoke. Only role admin may call them, listing included. They change no tenant configuration, so they publish
 * nothing, but run through the MutationRunner for Idempotency-Key like every admin change.
 */
import type { FastifyInstance } from "fastify";
import type { NewOperatorToken } from "../service/admin-fleet.ts";
import { type AdminContext, mutate } from "./context.ts";
import {
  createOperatorTokenBody,
  currentOperator,
  issuedOperatorToken,
  operatorTokenList,
  operatorTokenParams,
} from "./schemas.ts";

const admin = { access: "admin" } as const;

export function registerOperatorTokenRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get(
    "/whoami",
    {
      schema: {
        summary: "The operator token in use: its id, name and role",
        tags: ["operator tokens"],
        response: { 200: currentOperator },
      },
    },
    async (req) => {
      const { id, name, role } = req.operator!;
      return { id, name, role };
    },
  );

  app.post<{ Body: NewOperatorToken }>(
    "/operator-tokens",
    {
      config: admin,
      schema: {
        summary: "Create an operator token; the token is in this response only",
        tags: ["operator tokens"],
        body: createOperatorTokenBody,
        response: { 201: issuedOperatorToken },
      },
    },
    (req, reply) =>
      mutate(
        ctx,
        req,
        reply,
        ctx.fleet.createOperatorToken({ ...req.body, createdBy: req.operator?.id }, Date.now()),
      ),
  );

  app.get(
    "/operator-tokens",
    {
      config: admin,
      schema: {
        summary: "List operator tokens, newest first (never their secrets)",
        tags: ["operator tokens"],
        response: { 200: operatorTokenList },
      },
    },
    async () => ({ items: await ctx.fleet.listOperatorTokens() }),
  );

  app.delete<{ Params: { tokenId: string } }>(
    "/operator-tokens/:tokenId",
    {
      config: admin,
      schema: {
        summary: "Revoke an operator token (not the last active admin token)",
        tags: ["operator tokens"],
        params: operatorTokenParams,
      },
    },
    (req, reply) => mutate(ctx, req, reply, ctx.fleet.revokeOperatorToken(req.params.tokenId)),
  );
}
