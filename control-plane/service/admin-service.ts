/**
 * The admin API's service layer, as tenant-api/service.ts is the tenant API's: the transport
 * (admin/*-routes.ts) parses and validates HTTP, then calls this; this calls the store. Reads go
 * straight to the pool; every change runs through the MutationRunner (Idempotency-Key scoped
 * to the operator, quotas and payload bound, publish after commit).
 */
import type { Operator } from "../store/operator-tokens.ts";
import { authenticateOperator } from "../store/operator-tokens.ts";
import { AdminFleet, type AdminFleetDeps } from "./admin-fleet.ts";
import { AdminTenantConfig } from "./admin-tenant-config.ts";
import type { Change } from "./config-changes.ts";
import { type FailedAuthThrottle, sourceOf } from "./failed-auth-throttle.ts";
import { hashRequest, type MutationRunner } from "./mutations.ts";
import type { UsageReader } from "./usage-reader.ts";

export { MAX_TOKEN_LENGTH } from "../store/operator-tokens.ts";
export type { Operator };

export interface AdminServiceDeps extends AdminFleetDeps {
  mutations: MutationRunner;
  /** failed operator authentications per source address */
  authThrottle: FailedAuthThrottle;
  /** usage reports (metering rows, quota counters) */
  usage: UsageReader;
}

/** One admin change as the transport received it. */
export interface AdminChangeRequest {
  operatorId: string | undefined;
  idempotencyKey: string | undefined;
  method: string;
  path: string;
  body: unknown;
  /** the change adds configuration (quotas and payload bound are checked) */
  grows?: boolean;
  /** the tenant whose config it alters (service/config-growth.ts) */
  tenantId?: string;
}

export class AdminService {
  readonly tenants: AdminTenantConfig;
  readonly fleet: AdminFleet;
  readonly placement: AdminFleetDeps["placement"];
  readonly usage: UsageReader;
  readonly #deps: AdminServiceDeps;

  constructor(deps: AdminServiceDeps) {
    this.#deps = deps;
    this.tenants = new AdminTenantConfig(deps.pool);
    this.fleet = new AdminFleet(deps);
    this.placement = deps.placement;
    this.usage = deps.usage;
  }

  /** Runs `change` in a transaction under the request's Idempotency-Key (a replay is marked). */
  run(request: AdminChangeRequest, change: Change): ReturnType<MutationRunner["run"]> {
    return this.#deps.mutations.run(
      {
        scope: `admin:${request.operatorId ?? "anonymous"}`,
        idempotencyKey: request.idempotencyKey,
        requestHash: hashRequest(request.method, request.path, request.body),
        grows: request.grows,
        tenantId: request.tenantId,
      },
      change,
    );
  }

  /** The operator a bearer token belongs to; an address with too many failures is refused first. */
  authenticate(token: string, remoteAddress: string | undefined): Promise<Operator | undefined> {
    return this.#deps.authThrottle.guard(sourceOf(remoteAddress), () =>
      authenticateOperator(this.#deps.pool, token),
    );
  }
}
