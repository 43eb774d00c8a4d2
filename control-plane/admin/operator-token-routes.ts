/**
 * /admin/v1/operator-tokens: create (the token is in that response only), list, revoke. Only role
 * admin may call them, listing included. They change no tenant configuration, so they publish
 * nothing, but run through the MutationRunner for Idempotency-Key like every admin change.
 */
import type { FastifyInstance } from "fastify";
import { invalid } from "../service/input-validation.ts";
import type { Change } from "../service/config-changes.ts";
import { CorralError } from "../errors.ts";
import {
  BOOTSTRAP_TOKEN_NAME,
  createOperatorToken,
  listOperatorTokens,
  type NewOperatorToken,
  revokeOperatorToken,
} from "../store/operator-tokens.ts";
import { type AdminContext, mutate } from "./context.ts";
import {
  createOperatorTokenBody,
  issuedOperatorToken,
  operatorTokenList,
  operatorTokenParams,
} from "./schemas.ts";

const MAX_LIFETIME_MS = 10 * 365 * 24 * 3600 * 1000;
const admin = { access: "admin" } as const;

export function registerOperatorTokenRoutes(app: FastifyInstance, ctx: AdminContext): void {
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
    (req, reply) => {
      checkNewToken(req.body, Date.now());
      return mutate(ctx, req, reply, createToken({ ...req.body, createdBy: req.operator?.id }));
    },
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
    async () => ({ items: await listOperatorTokens(ctx.pool) }),
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
    (req, reply) => mutate(ctx, req, reply, revokeToken(req.params.tokenId)),
  );
}

function checkNewToken({ name, expiresAt }: NewOperatorToken, now: number): void {
  if (name === BOOTSTRAP_TOKEN_NAME)
    throw invalid("body/name", `${name} is reserved for CORRAL_OPERATOR_TOKEN`);
  if (expiresAt === undefined) return;
  const at = Date.parse(expiresAt);
  if (!(at > now)) throw invalid("body/expiresAt", "must be in the future");
  if (at - now > MAX_LIFETIME_MS) throw invalid("body/expiresAt", "must be at most 10 years ahead");
}

function createToken(input: NewOperatorToken): Change {
  return async (tx) => {
    const created = await createOperatorToken(tx, input);
    const { token: _shownOnce, ...withoutToken } = created;
    return { status: 201, body: created, stored: { status: 201, body: withoutToken }, changed: false };
  };
}

function revokeToken(id: string): Change {
  return async (tx) => {
    const result = await revokeOperatorToken(tx, id);
    if (result === "not-found")
      throw new CorralError("CORRAL_ADMIN_NOT_FOUND", `operator token ${id} not found`);
    return { status: 204, body: null, changed: false };
  };
}
