/**
 * The four routes of a fleet resource an operator names and replaces whole (plans, slots): list,
 * get, create or replace by PUT (201 created, 200 replaced), delete. Changes run through
 * mutate() like every admin change.
 */
import type { FastifyInstance } from "fastify";
import { documented } from "../http/server.ts";
import type { Change } from "../service/config-changes.ts";
import { type AdminContext, mutate } from "./context.ts";

export interface NamedResource<Body> {
  /** the collection, e.g. "/plans"; one item is `${path}/:name` */
  path: string;
  /** OpenAPI tag */
  tag: string;
  schemas: { params: object; item: object; list: object; body: object };
  summaries: { list: string; get: string; put: string; remove: string };
  list(): Promise<readonly unknown[]>;
  get(name: string): Promise<unknown>;
  put(name: string, body: Body): Change;
  remove(name: string): Change;
  /** a PUT may grow the fleet (checked against its bounds) */
  grows?: boolean;
}

type NameParams = { name: string };

export function registerNamedResource<Body>(
  app: FastifyInstance,
  ctx: AdminContext,
  r: NamedResource<Body>,
): void {
  const doc = documented(r.tag);
  const { params, item, list, body } = r.schemas;
  const one = `${r.path}/:name`;
  app.get(r.path, doc(r.summaries.list, { response: { 200: list } }), async () => ({
    items: await r.list(),
  }));
  app.get<{ Params: NameParams }>(one, doc(r.summaries.get, { params, response: { 200: item } }), (req) =>
    r.get(req.params.name),
  );
  app.put<{ Params: NameParams; Body: Body }>(
    one,
    doc(r.summaries.put, { params, body, response: { 200: item, 201: item } }),
    (req, reply) =>
      mutate(ctx, req, reply, r.put(req.params.name, req.body as Body), r.grows ? { grows: true } : {}),
  );
  app.delete<{ Params: NameParams }>(one, doc(r.summaries.remove, { params }), (req, reply) =>
    mutate(ctx, req, reply, r.remove(req.params.name)),
  );
}
