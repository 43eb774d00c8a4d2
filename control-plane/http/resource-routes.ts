/**
 * The REST routes of one kind of tenant-owned resource (routes, upstreams) on one surface:
 * create (POST), list, get, change (PATCH) and delete, documented by the kind's schemas and
 * summaries. The admin API mounts them under /tenants/:tenantId, the tenant API at its root;
 * each surface says where, and how a call reaches its service.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/** What a kind shows over REST (service/resource-schemas.ts). */
export interface RestResourceKind {
  /** the collection's path segment and OpenAPI tag: "routes" */
  collection: string;
  schemas: { item: object; list: object; create: object; patch: object };
  summaries: { create: string; list: string; get: string; update: string; remove: string };
}

/** Where a surface mounts a kind. */
export interface ResourceMount {
  /** the collection's path: /tenants/:tenantId/routes, /routes */
  path: string;
  /** the schema of the collection path's parameters, when it has any */
  params?: object;
  /** the path parameter that names one item ("routeId", "id") */
  idParam: string;
  /** the schema of the item path's parameters */
  itemParams: object;
}

export type ResourceRequest = FastifyRequest<{ Params: Record<string, string>; Body: unknown }>;

/** How a surface answers; `id` is the item's id from the path. */
export interface ResourceHandlers {
  list(req: ResourceRequest): Promise<unknown[]>;
  get(req: ResourceRequest, id: string): Promise<unknown>;
  create(req: ResourceRequest, reply: FastifyReply): Promise<FastifyReply>;
  update(req: ResourceRequest, reply: FastifyReply, id: string): Promise<FastifyReply>;
  remove(req: ResourceRequest, reply: FastifyReply, id: string): Promise<FastifyReply>;
}

export function registerResourceRoutes(
  app: FastifyInstance,
  kind: RestResourceKind,
  mount: ResourceMount,
  handlers: ResourceHandlers,
): void {
  const { schemas, summaries } = kind;
  const tags = [kind.collection];
  const collection = { tags, ...(mount.params ? { params: mount.params } : {}) };
  const item = { tags, params: mount.itemParams };
  const itemPath = `${mount.path}/:${mount.idParam}`;
  const idOf = (req: ResourceRequest) => req.params[mount.idParam]!;
  const on = (method: "GET" | "POST" | "PATCH" | "DELETE", url: string, schema: object, handler: Handler) =>
    app.route<{ Params: Record<string, string>; Body: unknown }>({ method, url, schema, handler });

  const answer = { response: { 200: schemas.item } };
  on(
    "POST",
    mount.path,
    { ...collection, summary: summaries.create, body: schemas.create, response: { 201: schemas.item } },
    (req, reply) => handlers.create(req, reply),
  );
  on(
    "GET",
    mount.path,
    { ...collection, summary: summaries.list, response: { 200: schemas.list } },
    async (req) => ({ items: await handlers.list(req) }),
  );
  on("GET", itemPath, { ...item, summary: summaries.get, ...answer }, (req) => handlers.get(req, idOf(req)));
  on(
    "PATCH",
    itemPath,
    { ...item, summary: summaries.update, body: schemas.patch, ...answer },
    (req, reply) => handlers.update(req, reply, idOf(req)),
  );
  on("DELETE", itemPath, { ...item, summary: summaries.remove }, (req, reply) =>
    handlers.remove(req, reply, idOf(req)),
  );
}

type Handler = (req: ResourceRequest, reply: FastifyReply) => Promise<unknown>;
