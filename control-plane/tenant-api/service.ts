/**
 * The tenant self-service API, transport-neutral: REST under /v1 (rest.ts) and gRPC
 * corral.tenant.v1.TenantService (grpc-server.ts) are thin layers over this class.
 *
 * - The caller is a tenant API key with scope manage; the tenant comes from the key only, and
 *   every read and change is scoped by that tenant id (ids of other tenants are not found).
 * - Input is validated with the admin API's schemas; changes are the admin API's changes
 *   (service/config-changes.ts) and run through the MutationRunner: one transaction with the
 *   change-counter bump and the idempotency record, scoped `tenant:<id>` (REST Idempotency-Key
 *   and gRPC client_token share it).
 * - Every change first takes a token of the tenant's bucket (mutation-rate.ts), or is refused 429 /
 *   RESOURCE_EXHAUSTED with the seconds to wait.
 * - Errors are CorralErrors with CORRAL_TENANT_* codes (or CP / SNAPSHOT codes).
 */
import { apiKeyId, hashApiKey, hashesEqual } from "../../proto/api-key.ts";
import { CorralError } from "../errors.ts";
import type { TenantPlacement } from "../fleet/placement-service.ts";
import {
  type Change,
  issueKey,
  type NewKey,
  revokeKey,
  routes,
  upstreams,
} from "../service/config-changes.ts";
import { compileInput, normalizeUpstream } from "../service/input-validation.ts";
import type { ResourceChanges } from "../service/tenant-resource.ts";
import type { FailedAuthThrottle } from "../service/failed-auth-throttle.ts";
import { hashRequest, type MutationRunner } from "../service/mutations.ts";
import {
  createKeyBody,
  createRouteBody,
  createUpstreamBody,
  patchRouteBody,
  patchUpstreamBody,
} from "../service/resource-schemas.ts";
import { usageQuery } from "../service/quota-schemas.ts";
import {
  type ApiKeyInfo,
  findKeyCredentials,
  type IssuedApiKey,
  type KeyCredentials,
  listApiKeys,
} from "../store/api-keys.ts";
import type { Pool } from "../store/db.ts";
import type { NewRoute, Route, RoutePatch } from "../store/routes.ts";
import { getTenant, type Tenant } from "../store/tenants.ts";
import type { NewUpstream, Upstream, UpstreamPatch } from "../store/upstreams.ts";
import { CallDeadline, type CallLimits } from "./call-limits.ts";
import type { MutationRateLimiter } from "./mutation-rate.ts";
import { inTenantTerms } from "./tenant-errors.ts";
import type { UsageQuery, UsageReader, UsageReport } from "../service/usage-reader.ts";

/** Who is calling: established by authenticate(), never taken from a request. */
export interface Caller {
  tenantId: string;
  keyId: string;
}

export interface MutationOptions extends CallLimits {
  /** idempotency key (REST Idempotency-Key, gRPC client_token), already checked for shape */
  clientToken?: string;
}

export interface Outcome<T> {
  /** HTTP-style status of the first response: 201 created, 204 done */
  status: number;
  value: T;
  /** true when this is the stored response to an earlier call with the same token */
  replayed: boolean;
}

/** A tenant's shard as the tenant sees it (no seed fingerprint). */
export type TenantShard = Omit<TenantPlacement, "tenant" | "seedFingerprint">;

/** An issued key: `key` is absent in idempotent replays. */
export type CreatedKey = Omit<IssuedApiKey, "key"> & { key?: string };

export interface TenantServiceDeps {
  pool: Pool;
  mutations: MutationRunner;
  /** paces each tenant's changes */
  mutationRate: MutationRateLimiter;
  placement: { tenantPlacement(tenantId: string): Promise<TenantPlacement | undefined> };
  /** failed tenant-key authentications per source address (REST and gRPC share it) */
  authThrottle: FailedAuthThrottle;
  /** usage reports (metering rows, quota counters) */
  usage: UsageReader;
}

/** One kind of the caller's resources (routes, upstreams), as every transport calls it. */
export interface TenantResourceApi<T> {
  list(caller: Caller): Promise<T[]>;
  get(caller: Caller, id: string): Promise<T>;
  create(caller: Caller, input: unknown, opts?: MutationOptions): Promise<Outcome<T>>;
  /** changes the fields `input` names; the result is checked as a new one would be (config-changes.ts) */
  update(caller: Caller, id: string, input: unknown, opts?: MutationOptions): Promise<Outcome<T>>;
  delete(caller: Caller, id: string, opts?: MutationOptions): Promise<Outcome<null>>;
}

/** What differs between the kinds: the changes, and how input is validated (and hashed). */
interface ResourceKind<Item, New, Patch> {
  /** "route": its ids are ID_PATTERNS.route, its operations CreateRoute, UpdateRoute, DeleteRoute */
  kind: "route" | "upstream";
  changes: ResourceChanges<Item, New, Patch>;
  parseNew(input: unknown): New;
  parsePatch(input: unknown): Patch;
}

export const ID_PATTERNS = {
  route: /^rt_[0-9a-f]{16}$/,
  upstream: /^up_[0-9a-f]{16}$/,
  key: /^[0-9a-f]{12}$/,
} as const;

const upstreamInput = compileInput<NewUpstream>(createUpstreamBody);
const keyInput = compileInput<NewKey>(createKeyBody);
const usageInput = compileInput<UsageQuery>(usageQuery);
/** compared against when no key has the presented id, so both paths hash and compare */
const NO_KEY_HASH = hashApiKey("no such key");

export class TenantService {
  readonly #deps: TenantServiceDeps;

  constructor(deps: TenantServiceDeps) {
    this.#deps = deps;
  }

  /**
   * The caller of a presented key: it must exist, not be revoked, carry scope manage and belong
   * to an active tenant. The key's hash is compared in constant time. A presented key that does
   * not authenticate counts against `source` (service/failed-auth-throttle.ts); a throttled
   * source is refused before its key is looked at.
   */
  async authenticate(presented: string | undefined, source: string): Promise<Caller> {
    if (presented === undefined) throw new CorralError("CORRAL_TENANT_UNAUTHENTICATED");
    const found = await inTenantTerms(() =>
      this.#deps.authThrottle.guard(source, () => this.#validKey(presented)),
    );
    if (!found) throw new CorralError("CORRAL_TENANT_UNAUTHENTICATED");
    if (found.tenantStatus !== "active") throw new CorralError("CORRAL_TENANT_SUSPENDED");
    if (!found.scopes.includes("manage")) {
      throw new CorralError("CORRAL_TENANT_FORBIDDEN", "this API needs a key with scope manage");
    }
    return { tenantId: found.tenantId, keyId: found.id };
  }

  async #validKey(presented: string): Promise<KeyCredentials | undefined> {
    const keyId = apiKeyId(presented);
    if (keyId === undefined) return undefined;
    const found = await findKeyCredentials(this.#deps.pool, keyId);
    const matches = hashesEqual(found?.hash ?? NO_KEY_HASH, hashApiKey(presented));
    return found && matches && !found.revoked ? found : undefined;
  }

  getTenant(caller: Caller): Promise<Tenant> {
    return inTenantTerms(async () => {
      const tenant = await getTenant(this.#deps.pool, caller.tenantId);
      if (!tenant) throw new CorralError("CORRAL_TENANT_NOT_FOUND", `tenant ${caller.tenantId} not found`);
      return tenant;
    });
  }

  getPlacement(caller: Caller): Promise<TenantShard> {
    return inTenantTerms(async () => {
      const placed = await this.#deps.placement.tenantPlacement(caller.tenantId);
      if (!placed) throw new CorralError("CORRAL_TENANT_NOT_FOUND", `tenant ${caller.tenantId} not found`);
      return { k: placed.k, configuredK: placed.configuredK, n: placed.n, shard: placed.shard };
    });
  }

  /** The caller's own usage: its quota period and history (never another tenant's: the id is the caller's). */
  getUsage(caller: Caller, query: unknown): Promise<UsageReport> {
    return inTenantTerms(() =>
      this.#deps.usage.report(
        caller.tenantId,
        usageInput(query),
        () => new CorralError("CORRAL_TENANT_NOT_FOUND", `tenant ${caller.tenantId} not found`),
      ),
    );
  }

  readonly routes = this.#resource<Route, NewRoute, RoutePatch>({
    kind: "route",
    changes: routes,
    parseNew: compileInput(createRouteBody),
    parsePatch: compileInput(patchRouteBody),
  });

  readonly upstreams = this.#resource<Upstream, NewUpstream, UpstreamPatch>({
    kind: "upstream",
    changes: upstreams,
    parseNew: (input) => normalizeUpstream(upstreamInput(input)),
    parsePatch: compileInput(patchUpstreamBody),
  });

  listKeys(caller: Caller): Promise<ApiKeyInfo[]> {
    return inTenantTerms(() => listApiKeys(this.#deps.pool, caller.tenantId));
  }

  createKey(caller: Caller, input: unknown, opts: MutationOptions = {}): Promise<Outcome<CreatedKey>> {
    return this.#mutate(caller, "CreateKey", opts, () => {
      const key = keyInput(input);
      return { input: key, change: issueKey(caller.tenantId, key), grows: true };
    });
  }

  revokeKey(caller: Caller, id: string, opts: MutationOptions = {}): Promise<Outcome<null>> {
    return this.#mutate(caller, "RevokeKey", opts, () => ({
      input: { id: checkId("key", id) },
      change: revokeKey(caller.tenantId, id),
    }));
  }

  /**
   * One kind of the caller's resources: reads scoped by the caller's tenant, changes through
   * #mutate with the validated input hashed (an update: the id and the validated patch).
   */
  #resource<Item, New, Patch>(r: ResourceKind<Item, New, Patch>): TenantResourceApi<Item> {
    const { kind, changes } = r;
    const name = kind === "route" ? "Route" : "Upstream";
    const pool = () => this.#deps.pool;
    return {
      list: (caller) => inTenantTerms(() => changes.list(pool(), caller.tenantId)),
      get: (caller, id) => inTenantTerms(() => changes.find(pool(), caller.tenantId, checkId(kind, id))),
      create: (caller, input, opts = {}) =>
        this.#mutate(caller, `Create${name}`, opts, () => {
          const resource = r.parseNew(input);
          return { input: resource, change: changes.create(caller.tenantId, resource), grows: true };
        }),
      update: (caller, id, input, opts = {}) =>
        this.#mutate(caller, `Update${name}`, opts, () => {
          const patch = r.parsePatch(input);
          const checkedId = checkId(kind, id);
          return {
            input: { id: checkedId, patch },
            change: changes.update(caller.tenantId, checkedId, patch),
            grows: true,
          };
        }),
      delete: (caller, id, opts = {}) =>
        this.#mutate(caller, `Delete${name}`, opts, () => ({
          input: { id: checkId(kind, id) },
          change: changes.remove(caller.tenantId, id),
        })),
    };
  }

  /**
   * Takes a token of the tenant's change rate, validates (`prepare`), then runs the change in the caller's tenant through the MutationRunner
   * within the call's deadline. The request hash covers the operation and the validated input.
   */
  #mutate<T>(
    caller: Caller,
    operation: string,
    opts: MutationOptions,
    prepare: () => { input: unknown; change: Change; grows?: boolean },
  ): Promise<Outcome<T>> {
    return inTenantTerms(async () => {
      this.#deps.mutationRate.take(caller.tenantId);
      const { input, change, grows } = prepare();
      const deadline = new CallDeadline(opts);
      deadline.check();
      const request = {
        scope: `tenant:${caller.tenantId}`,
        idempotencyKey: opts.clientToken,
        requestHash: hashRequest("tenant-api", operation, input),
        grows,
        tenantId: caller.tenantId,
      };
      try {
        const result = await this.#deps.mutations.run(request, async (tx) => {
          await deadline.limitStatements(tx);
          const done = await change(tx);
          deadline.check();
          return done;
        });
        return { status: result.status, value: result.body as T, replayed: result.replayed };
      } catch (err) {
        throw deadline.translate(err);
      }
    });
  }
}

function checkId(kind: keyof typeof ID_PATTERNS, id: string): string {
  if (typeof id !== "string" || !ID_PATTERNS[kind].test(id)) {
    throw new CorralError("CORRAL_TENANT_VALIDATION", `id is not a ${kind} id`, {
      errors: [{ path: "id", message: `must be a ${kind} id (${ID_PATTERNS[kind].source})` }],
    });
  }
  return id;
}
