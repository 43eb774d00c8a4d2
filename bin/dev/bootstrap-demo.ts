/**
 * Idempotent set-up of the demo tenant through the admin API: tenant `demo`, an upstream and
 * a route for the demo HTTP upstream, an upstream and a gRPC route for corral.demo.v1.Echo,
 * and an invoke key. Re-running reuses what exists and repairs what drifted (e.g. new ports).
 */
import { AdminApiError, type AdminClient, seg } from "../admin/admin-client.ts";

export const DEMO_TENANT = "demo";
export const DEMO_HTTP_PATH = "/hello";
/** the demo WebSocket route (websocket: true) to the demo HTTP upstream's echo */
export const DEMO_WS_PATH = "/ws";
export const DEMO_GRPC_SERVICE = "corral.demo.v1.Echo";

export interface DemoTargets {
  /** http://host:port of the demo HTTP upstream */
  http: string;
  /** http://host:port of the demo gRPC upstream */
  grpc: string;
}

export interface DemoKey {
  id: string;
  key: string;
}

export interface DemoSetup {
  tenant: string;
  apiKey: DemoKey;
  /** true when a new key was issued (the caller must store it: it is shown only once) */
  newKey: boolean;
  httpPath: string;
  grpcService: string;
}

interface Upstream {
  id: string;
  name: string;
  targets: string[];
}

interface Route {
  id: string;
  pathPrefix: string;
  upstreamId: string;
  protocol?: string;
  websocket?: boolean;
}

interface KeyInfo {
  id: string;
  revokedAt: string | null;
}

export async function bootstrapDemo(
  client: AdminClient,
  targets: DemoTargets,
  knownKey?: DemoKey,
): Promise<DemoSetup> {
  await allowDemoEgress(client, targets);
  await ensureTenant(client);
  const base = `/admin/v1/tenants/${DEMO_TENANT}`;
  const httpUpstream = await ensureUpstream(client, base, "demo-http", [targets.http]);
  await ensureRoute(client, base, { pathPrefix: DEMO_HTTP_PATH, upstreamId: httpUpstream, protocol: "http" });
  await ensureRoute(client, base, {
    pathPrefix: DEMO_WS_PATH,
    upstreamId: httpUpstream,
    protocol: "http",
    websocket: true,
  });
  const grpcUpstream = await ensureUpstream(client, base, "demo-grpc", [targets.grpc]);
  const grpcPath = `/${DEMO_GRPC_SERVICE}/`;
  await ensureRoute(client, base, { pathPrefix: grpcPath, upstreamId: grpcUpstream, protocol: "grpc" });
  const { key, created } = await ensureKey(client, base, knownKey);
  return {
    tenant: DEMO_TENANT,
    apiKey: key,
    newKey: created,
    httpPath: DEMO_HTTP_PATH,
    grpcService: DEMO_GRPC_SERVICE,
  };
}

/**
 * The demo upstreams listen on loopback, which the egress policy refuses: the fleet's allow
 * list gets exactly their host:port pairs (entries already there, e.g. a developer's own, stay),
 * so every other loopback port (the nodes' ingress and ops ports, the CP) stays refused.
 */
async function allowDemoEgress(client: AdminClient, targets: DemoTargets): Promise<void> {
  const { allow } = await client.get<{ allow: string[] }>("/admin/v1/settings/egress");
  const demo = [targets.http, targets.grpc].map((t) => {
    const url = new URL(t);
    return `${url.hostname}:${url.port || 80}`;
  });
  const missing = demo.filter((d) => !allow.includes(d));
  if (missing.length > 0) await client.put("/admin/v1/settings/egress", { allow: [...allow, ...missing] });
}

async function ensureTenant(client: AdminClient): Promise<void> {
  try {
    const tenant = await client.get<{ status: string }>(`/admin/v1/tenants/${DEMO_TENANT}`);
    if (tenant.status !== "active")
      await client.patch(`/admin/v1/tenants/${DEMO_TENANT}`, { status: "active" });
  } catch (err) {
    if (!(err instanceof AdminApiError && err.status === 404)) throw err;
    await client.post("/admin/v1/tenants", { id: DEMO_TENANT, name: "Demo tenant" });
  }
}

async function ensureUpstream(
  client: AdminClient,
  base: string,
  name: string,
  targets: string[],
): Promise<string> {
  const existing = (await client.listAll<Upstream>(`${base}/upstreams`)).find((u) => u.name === name);
  if (existing && sameList(existing.targets, targets)) return existing.id;
  if (existing) {
    const routes = await client.listAll<Route>(`${base}/routes`);
    for (const route of routes.filter((r) => r.upstreamId === existing.id))
      await client.delete(`${base}/routes/${seg(route.id)}`);
    await client.delete(`${base}/upstreams/${seg(existing.id)}`);
  }
  return (await client.post<Upstream>(`${base}/upstreams`, { name, targets })).id;
}

async function ensureRoute(
  client: AdminClient,
  base: string,
  want: { pathPrefix: string; upstreamId: string; protocol: string; websocket?: boolean },
): Promise<void> {
  const routes = await client.listAll<Route>(`${base}/routes`);
  const same = routes.filter((r) => r.pathPrefix === want.pathPrefix);
  const match = same.find(
    (r) =>
      r.upstreamId === want.upstreamId &&
      (r.protocol ?? "http") === want.protocol &&
      (r.websocket ?? false) === (want.websocket ?? false),
  );
  for (const route of same) if (route !== match) await client.delete(`${base}/routes/${seg(route.id)}`);
  if (!match) await client.post(`${base}/routes`, want);
}

async function ensureKey(
  client: AdminClient,
  base: string,
  known: DemoKey | undefined,
): Promise<{ key: DemoKey; created: boolean }> {
  if (known) {
    const keys = await client.listAll<KeyInfo>(`${base}/keys`);
    if (keys.some((k) => k.id === known.id && !k.revokedAt)) return { key: known, created: false };
  }
  const issued = await client.post<DemoKey>(`${base}/keys`, { name: "demo", scopes: ["invoke"] });
  return { key: { id: issued.id, key: issued.key }, created: true };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
