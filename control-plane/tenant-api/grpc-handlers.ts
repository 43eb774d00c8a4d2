/** The TenantService RPCs, each one TenantService call between two mappings (grpc-mapping.ts). */
import type { handleUnaryCall } from "@grpc/grpc-js";
import type * as pb from "../../proto/gen/corral/tenant/v1/tenant.ts";
import type { TenantServiceServer } from "../../proto/gen/corral/tenant/v1/tenant.ts";
import * as map from "./grpc-mapping.ts";
import type { Caller, MutationOptions, Outcome, TenantService } from "./service.ts";

/** What a handler gets besides the request: the caller and the call's limits. */
export interface CallContext {
  caller: Caller;
  /** the call's deadline, cancellation and (validated) client token */
  mutation(clientToken: string): MutationOptions;
}

export interface HandlerResult<Res> {
  response: Res;
  replayed?: boolean;
}

/** Wraps a handler into a grpc-js unary call (grpc-server.ts: limits, errors, metrics). */
export type Unary = <Req, Res>(
  method: string,
  handler: (ctx: CallContext, request: Req) => Promise<HandlerResult<Res>>,
) => handleUnaryCall<Req, Res>;

const done = <T, R>(outcome: Outcome<T>, response: R) => ({ response, replayed: outcome.replayed });

export function tenantHandlers(service: TenantService, unary: Unary): TenantServiceServer {
  const s = service;
  const mutation = (ctx: CallContext, req: { clientToken: string }) => ctx.mutation(req.clientToken);
  return {
    getTenant: unary<pb.GetTenantRequest, pb.GetTenantResponse>("GetTenant", async (ctx) => ({
      response: { tenant: map.tenantMessage(await s.getTenant(ctx.caller)) },
    })),
    getPlacement: unary<pb.GetPlacementRequest, pb.GetPlacementResponse>("GetPlacement", async (ctx) => ({
      response: { placement: map.placementMessage(await s.getPlacement(ctx.caller)) },
    })),
    listRoutes: unary<pb.ListRoutesRequest, pb.ListRoutesResponse>("ListRoutes", async (ctx) => ({
      response: { routes: (await s.routes.list(ctx.caller)).map(map.routeMessage) },
    })),
    getRoute: unary<pb.GetRouteRequest, pb.GetRouteResponse>("GetRoute", async (ctx, req) => ({
      response: { route: map.routeMessage(await s.routes.get(ctx.caller, req.id)) },
    })),
    createRoute: unary<pb.CreateRouteRequest, pb.CreateRouteResponse>("CreateRoute", async (ctx, req) => {
      const out = await s.routes.create(ctx.caller, map.routeInput(req), mutation(ctx, req));
      return done(out, { route: map.routeMessage(out.value) });
    }),
    deleteRoute: unary<pb.DeleteRouteRequest, pb.DeleteRouteResponse>("DeleteRoute", async (ctx, req) =>
      done(await s.routes.delete(ctx.caller, req.id, mutation(ctx, req)), {}),
    ),
    listUpstreams: unary<pb.ListUpstreamsRequest, pb.ListUpstreamsResponse>("ListUpstreams", async (ctx) => ({
      response: { upstreams: (await s.upstreams.list(ctx.caller)).map(map.upstreamMessage) },
    })),
    getUpstream: unary<pb.GetUpstreamRequest, pb.GetUpstreamResponse>("GetUpstream", async (ctx, req) => ({
      response: { upstream: map.upstreamMessage(await s.upstreams.get(ctx.caller, req.id)) },
    })),
    createUpstream: unary<pb.CreateUpstreamRequest, pb.CreateUpstreamResponse>(
      "CreateUpstream",
      async (ctx, req) => {
        const out = await s.upstreams.create(ctx.caller, map.upstreamInput(req), mutation(ctx, req));
        return done(out, { upstream: map.upstreamMessage(out.value) });
      },
    ),
    deleteUpstream: unary<pb.DeleteUpstreamRequest, pb.DeleteUpstreamResponse>(
      "DeleteUpstream",
      async (ctx, req) => done(await s.upstreams.delete(ctx.caller, req.id, mutation(ctx, req)), {}),
    ),
    listKeys: unary<pb.ListKeysRequest, pb.ListKeysResponse>("ListKeys", async (ctx) => ({
      response: { keys: (await s.listKeys(ctx.caller)).map(map.keyMessage) },
    })),
    createKey: unary<pb.CreateKeyRequest, pb.CreateKeyResponse>("CreateKey", async (ctx, req) => {
      const out = await s.createKey(ctx.caller, map.keyInput(req), mutation(ctx, req));
      return done(out, { info: map.keyMessage(out.value), key: out.value.key ?? "" });
    }),
    revokeKey: unary<pb.RevokeKeyRequest, pb.RevokeKeyResponse>("RevokeKey", async (ctx, req) =>
      done(await s.revokeKey(ctx.caller, req.id, mutation(ctx, req)), {}),
    ),
    updateRoute: unary<pb.UpdateRouteRequest, pb.UpdateRouteResponse>("UpdateRoute", async (ctx, req) => {
      const out = await s.routes.update(ctx.caller, req.id, map.routePatch(req), mutation(ctx, req));
      return done(out, { route: map.routeMessage(out.value) });
    }),
    updateUpstream: unary<pb.UpdateUpstreamRequest, pb.UpdateUpstreamResponse>(
      "UpdateUpstream",
      async (ctx, req) => {
        const out = await s.upstreams.update(ctx.caller, req.id, map.upstreamPatch(req), mutation(ctx, req));
        return done(out, { upstream: map.upstreamMessage(out.value) });
      },
    ),
    getUsage: unary<pb.GetUsageRequest, pb.GetUsageResponse>("GetUsage", async (ctx, req) => ({
      response: map.usageMessage(await s.getUsage(ctx.caller, map.usageInput(req))),
    })),
  };
}
