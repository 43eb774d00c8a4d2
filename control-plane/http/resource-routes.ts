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
  const params = mount.params ? { params: mount.params } : {};
  const itemPath = `${mount.path}/:${mount.idParam}`;
  const item = { tags, params: mount.itemParams };
  const idOf = (req: ResourceRequest) => req.params[mount.idParam]!;
  const route = (
    method: "GET" | "POST" | "PATCH" | "DELETE",
    url: string,
    schema: object,
    handler: Handler,
  ) => app.route<{ Params: Record<string, string>; Body: unknown }>({ method, url, schema, handler });

  const created = { 201: schemas.item };
  route(
    "POST",
    mount.path,
    { summary: summaries.create, tags, ...params, body: schemas.create, response: created },
    (req, reply) => handlers.create(req, reply),
  );
  route(
    "GET",
    mount.path,
    { summary: summaries.list, tags, ...params, response: { 200: schemas.list } },
    async (req) => ({
      items: await handlers.list(req),
    }),
  );
  route("GET", itemPath, { summary: summaries.get, ...item, response: { 200: schemas.item } }, (req) =>
    handlers.get(req, idOf(req)),
  );
  const changed = { 200: schemas.item };
  route(
    "PATCH",
    itemPath,
    { summary: summaries.update, ...item, body: schemas.patch, response: changed },
    (req, reply) => handlers.update(req, reply, idOf(req)),
  );
  route("DELETE", itemPath, { summary: summaries.remove, ...item }, (req, reply) =>
    handlers.remove(req, reply, idOf(req)),
  );
}

type Handler = (req: ResourceRequest, reply: FastifyReply) => Promise<unknown>;
