/**
 * Tenant-API test support: one real control plane (test/control-plane/harness.ts) with two tenants
 * made through the admin API, keys of each scope, a REST helper that presents a tenant key, and a
 * promise wrapper over the generated grpc-js TenantService client.
 */
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { readChangeState } from "../../control-plane/store/changes.ts";
import { TenantServiceClient } from "../../proto/gen/corral/tenant/v1/tenant.ts";
import { type ApiResponse, adminOf, type Harness, startHarness } from "../control-plane/harness.ts";
import { createTenant } from "../support/tenants.ts";

export interface TenantKeys {
  manage: string;
  invoke: string;
}

export interface World {
  h: Harness;
  /** key sets of tenants "alpha" and "beta" */
  alpha: TenantKeys;
  beta: TenantKeys;
  grpc: TenantServiceClient;
  /** REST call presenting `key` as x-api-key (or nothing when key is undefined) */
  rest(
    key: string | undefined,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiResponse>;
  close(): Promise<void>;
}

/** These tests make many changes per tenant; the change rate limit has its own (test/security). */
const UNLIMITED_CHANGES = {
  CORRAL_TENANT_MUTATIONS_PER_MINUTE: "600000",
  CORRAL_TENANT_MUTATION_BURST: "100000",
};

export async function startWorld(): Promise<World> {
  const h = await startHarness({}, UNLIMITED_CHANGES);
  try {
    const alpha = await makeTenant(h, "alpha");
    const beta = await makeTenant(h, "beta");
    const grpc = new TenantServiceClient(h.cp.grpcAddress, credentials.createInsecure());
    const rest: World["rest"] = (key, method, path, body, headers = {}) =>
      h.api(method, path, body, {
        authorization: "",
        ...(key === undefined ? {} : { "x-api-key": key }),
        ...headers,
      });
    const close = async () => {
      grpc.close();
      await h.close();
    };
    return { h, alpha, beta, grpc, rest, close };
  } catch (err) {
    await h.close();
    throw err;
  }
}

export async function makeTenant(h: Harness, id: string): Promise<TenantKeys> {
  const { keys } = await createTenant(adminOf(h), {
    id,
    // the targets the tenant-API tests use (loopback, and dotless names only for refusals elsewhere)
    egressAllow: ["127.0.0.1/32", "a", "x"],
    keys: { "invoke+manage": ["invoke", "manage"], invoke: ["invoke"] },
  });
  return { manage: keys["invoke+manage"]!.key, invoke: keys.invoke!.key };
}

export interface CallOptions {
  key?: string;
  /** presented as authorization: Bearer instead of x-api-key */
  bearer?: boolean;
  deadlineMs?: number;
}

export interface CallResult<Res> {
  response: Res;
  /** response headers (initial metadata) */
  headers: Metadata;
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: { deadline?: number },
  callback: (err: ServiceError | null, response: Res) => void,
) => { on(event: "metadata", listener: (md: Metadata) => void): unknown };

/** One unary call; rejects with the ServiceError. */
export function call<Req, Res>(
  client: TenantServiceClient,
  method: (client: TenantServiceClient) => UnaryMethod<Req, Res>,
  request: Req,
  opts: CallOptions = {},
): Promise<CallResult<Res>> {
  const md = new Metadata();
  if (opts.key !== undefined) {
    if (opts.bearer) md.set("authorization", `Bearer ${opts.key}`);
    else md.set("x-api-key", opts.key);
  }
  const options = opts.deadlineMs === undefined ? {} : { deadline: Date.now() + opts.deadlineMs };
  return new Promise((resolve, reject) => {
    let headers = new Metadata();
    const fn = method(client).bind(client);
    const pending = fn(request, md, options, (err, response) =>
      err ? reject(err) : resolve({ response, headers }),
    );
    pending.on("metadata", (received) => {
      headers = received;
    });
  });
}

/** The ServiceError a call rejected with. */
export async function callError(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error("the call succeeded");
}

export function corralCode(err: ServiceError): string | undefined {
  const value = err.metadata?.get("corral-code")[0];
  return typeof value === "string" ? value : undefined;
}

export function problemOf(err: ServiceError): Record<string, unknown> {
  const value = err.metadata?.get("corral-problem-bin")[0];
  if (!Buffer.isBuffer(value)) throw new Error("no corral-problem-bin trailer");
  return JSON.parse(value.toString("utf8"));
}

/** Rows of the tenant's config tables straight from Postgres (what a test asserts "nothing changed" on). */
export async function configRows(h: Harness, tenantId: string): Promise<Record<string, number>> {
  const count = async (table: string) =>
    Number(
      (await h.cp.pool.query(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = $1`, [tenantId])).rows[0]
        .n,
    );
  return {
    routes: await count("routes"),
    upstreams: await count("upstreams"),
    keys: await count("api_keys"),
  };
}

/** The change counter every committed change bumps (store/changes.ts). */
export async function changeCounter(h: Harness): Promise<number> {
  return (await readChangeState(h.cp.pool)).counter;
}
