/** The operator commands of `corral admin`: each maps its arguments to one admin API call. */
import { type AdminClient, seg } from "./admin-client.ts";

export type Options = Record<string, string | boolean | string[] | undefined>;

export interface AdminCommand {
  /** names of the positional arguments after "<resource> <action>" */
  args: readonly string[];
  /** option names this command accepts */
  options: readonly string[];
  /** does it change anything (accepts --idempotency-key) */
  mutates?: boolean;
  run(client: AdminClient, args: string[], opts: Options): Promise<unknown>;
}

export class UsageError extends Error {}

export const tenantPath = (id: string) => `/admin/v1/tenants/${seg(id)}`;
const EGRESS_PATH = "/admin/v1/settings/egress";

export function text(opts: Options, name: string): string | undefined {
  const value = opts[name];
  return typeof value === "string" ? value : undefined;
}

/** A boolean option: true (`--public`), false (`--no-public`) or undefined (not given). */
export function flag(opts: Options, name: string): boolean | undefined {
  const value = opts[name];
  return typeof value === "boolean" ? value : undefined;
}

function list(opts: Options, name: string): string[] | undefined {
  const value = opts[name];
  return Array.isArray(value) ? value : undefined;
}

export function integer(opts: Options, name: string): number | undefined {
  const raw = text(opts, name);
  return raw === undefined ? undefined : wholeNumber(name, raw);
}

function wholeNumber(name: string, raw: string): number {
  if (!/^\d+$/.test(raw))
    throw new UsageError(`--${name} expects a whole number, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

function decimal(opts: Options, name: string): number | undefined {
  const raw = text(opts, name);
  if (raw === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(raw))
    throw new UsageError(`--${name} expects a number, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** --client-rate and --client-burst: both or neither; --no-client-limits removes them (null). */
function clientLimits(opts: Options): { rate: number; burst: number } | null | undefined {
  const rate = decimal(opts, "client-rate");
  const burst = decimal(opts, "client-burst");
  const off = flag(opts, "client-limits");
  if (off === true)
    throw new UsageError("--client-limits takes no value: give --client-rate and --client-burst");
  if (off === false) {
    if (rate !== undefined || burst !== undefined)
      throw new UsageError(
        "--no-client-limits removes the client limits: no --client-rate/--client-burst with it",
      );
    return null;
  }
  if (rate === undefined && burst === undefined) return undefined;
  if (rate === undefined || burst === undefined)
    throw new UsageError("--client-rate and --client-burst go together");
  return { rate, burst };
}

function required(opts: Options, name: string): string {
  const value = text(opts, name);
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return value;
}

/** Drops undefined fields, so the API applies its defaults. */
export function body(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

function tenantFields(opts: Options): Record<string, unknown> {
  return body({ name: text(opts, "name"), plan: text(opts, "plan"), status: text(opts, "status") });
}

/** --option -> field of the upstream's healthCheck / outlier object (integers but the first two). */
const HEALTH_FIELDS = {
  "health-path": "path",
  "health-service": "service",
  "health-interval-ms": "intervalMs",
  "health-timeout-ms": "timeoutMs",
  "healthy-threshold": "healthyThreshold",
  "unhealthy-threshold": "unhealthyThreshold",
} as const;
const OUTLIER_FIELDS = {
  "eject-after": "consecutiveFailures",
  "base-ejection-ms": "baseEjectionMs",
  "max-ejection-ms": "maxEjectionMs",
  "max-ejected-percent": "maxEjectedPercent",
  "slow-start-ms": "slowStartMs",
} as const;
/** `--health-check none`: no active checks (an update turns them off). */
const HEALTH_OFF = "none";
const HEALTH_OPTIONS = ["health-check", ...Object.keys(HEALTH_FIELDS)];
const OUTLIER_OPTIONS = Object.keys(OUTLIER_FIELDS);
const TEXT_OPTIONS = new Set(["health-path", "health-service"]);

/** The options present in `fields`, as the API's object (undefined when none is given). */
function optionObject(o: Options, fields: Record<string, string>): Record<string, unknown> | undefined {
  const out = body(
    Object.fromEntries(
      Object.entries(fields).map(([option, field]) => [
        field,
        TEXT_OPTIONS.has(option) ? text(o, option) : integer(o, option),
      ]),
    ),
  );
  return Object.keys(out).length > 0 ? out : undefined;
}

const UPSTREAM_OPTIONS = [
  "name",
  "target",
  "connect-timeout-ms",
  "weight",
  ...HEALTH_OPTIONS,
  ...OUTLIER_OPTIONS,
  "budget-percent",
  "budget-min-per-second",
  "budget-window-ms",
];
const ROUTE_OPTIONS = [
  "path",
  "upstream",
  "host",
  "method",
  "timeout-ms",
  "protocol",
  "strip-prefix",
  "retries",
  "retry-status",
  "websocket",
  "ws-idle-timeout-ms",
  "ws-max-connections",
  "ws-max-message-bytes",
  "stream-idle-timeout-ms",
  "public",
  "idempotency",
  "client-rate",
  "client-burst",
  "client-limits",
];

/**
 * The upstream fields the options name; any budget option sets the whole budget (defaults 10 %,
 * 3/s, 10 s), any outlier option the whole outlier setting (the others take their defaults).
 */
function upstreamFields(o: Options): Record<string, unknown> {
  const weights = list(o, "weight")?.map((w) => wholeNumber("weight", w));
  const health = optionObject(o, HEALTH_FIELDS);
  const protocol = text(o, "health-check");
  if (health && (!protocol || protocol === HEALTH_OFF))
    throw new UsageError("--health-check http|grpc is required with the other --health-* options");
  const budget = [
    integer(o, "budget-percent"),
    integer(o, "budget-min-per-second"),
    integer(o, "budget-window-ms"),
  ];
  const [percent = 10, minPerSecond = 3, windowMs = 10_000] = budget;
  return body({
    name: text(o, "name"),
    targets: list(o, "target"),
    connectTimeoutMs: integer(o, "connect-timeout-ms"),
    weights,
    healthCheck: protocol === HEALTH_OFF ? null : protocol ? { protocol, ...health } : undefined,
    outlier: optionObject(o, OUTLIER_FIELDS),
    retryBudget: budget.some((v) => v !== undefined) ? { percent, minPerSecond, windowMs } : undefined,
  });
}

/** `<resource> delete|revoke <tenant> <id>`: deletes one of a tenant's resources. */
function tenantResourceDelete(collection: string, idArg: string): AdminCommand {
  return {
    args: ["tenant", idArg],
    options: [],
    mutates: true,
    run: (c, [t, id]) => c.delete(`${tenantPath(t!)}/${collection}/${seg(id!)}`),
  };
}

/** `<collection> list | create | update | delete` of a tenant's upstreams or routes. */
function tenantResourceCommands(
  collection: string,
  idArg: string,
  options: readonly string[],
  created: (o: Options) => unknown,
  changed: (o: Options) => unknown,
): Record<string, AdminCommand> {
  const path = (tenant: string) => `${tenantPath(tenant)}/${collection}`;
  return {
    [`${collection} list`]: { args: ["tenant"], options: [], run: (c, [t]) => c.get(path(t!)) },
    [`${collection} create`]: {
      args: ["tenant"],
      options,
      mutates: true,
      run: (c, [t], o) => c.post(path(t!), created(o)),
    },
    [`${collection} update`]: {
      args: ["tenant", idArg],
      options,
      mutates: true,
      run: (c, [t, id], o) => c.patch(`${path(t!)}/${seg(id!)}`, changed(o)),
    },
    [`${collection} delete`]: tenantResourceDelete(collection, idArg),
  };
}

export const COMMANDS: Readonly<Record<string, AdminCommand>> = {
  "tenants list": {
    args: [],
    options: ["limit", "cursor", "all", "q"],
    run: async (c, _a, o) => {
      const search = body({ q: text(o, "q") }) as Record<string, string>;
      if (o.all) {
        const query = new URLSearchParams({ limit: "200", ...search });
        return { items: await c.listAll(`/admin/v1/tenants?${query}`), nextCursor: null };
      }
      const query = new URLSearchParams(
        body({ limit: text(o, "limit"), cursor: text(o, "cursor"), ...search }) as Record<string, string>,
      );
      return c.get(`/admin/v1/tenants${query.size > 0 ? `?${query}` : ""}`);
    },
  },
  "tenants get": { args: ["tenant"], options: [], run: (c, [t]) => c.get(tenantPath(t!)) },
  "tenants create": {
    args: ["tenant"],
    options: ["name", "plan", "status"],
    mutates: true,
    run: (c, [t], o) => c.post("/admin/v1/tenants", { id: t, name: t, ...tenantFields(o) }),
  },
  "tenants update": {
    args: ["tenant"],
    options: ["name", "plan", "status"],
    mutates: true,
    run: (c, [t], o) => c.patch(tenantPath(t!), tenantFields(o)),
  },
  "tenants suspend": {
    args: ["tenant"],
    options: [],
    mutates: true,
    run: (c, [t]) => c.patch(tenantPath(t!), { status: "suspended" }),
  },
  "tenants resume": {
    args: ["tenant"],
    options: [],
    mutates: true,
    run: (c, [t]) => c.patch(tenantPath(t!), { status: "active" }),
  },
  "tenants delete": {
    args: ["tenant"],
    options: [],
    mutates: true,
    run: (c, [t]) => c.delete(tenantPath(t!)),
  },
  "keys list": { args: ["tenant"], options: [], run: (c, [t]) => c.get(`${tenantPath(t!)}/keys`) },
  "keys create": {
    args: ["tenant"],
    options: ["name", "scope"],
    mutates: true,
    run: (c, [t], o) =>
      c.post(`${tenantPath(t!)}/keys`, body({ name: text(o, "name"), scopes: list(o, "scope") })),
  },
  "keys revoke": tenantResourceDelete("keys", "keyId"),
  ...tenantResourceCommands("upstreams", "upstreamId", UPSTREAM_OPTIONS, newUpstream, upstreamFields),
  ...tenantResourceCommands("routes", "routeId", ROUTE_OPTIONS, newRoute, routeFields),
  "tokens list": { args: [], options: [], run: (c) => c.get("/admin/v1/operator-tokens") },
  "tokens create": {
    args: ["name"],
    options: ["role", "expires-at"],
    mutates: true,
    run: (c, [n], o) =>
      c.post(
        "/admin/v1/operator-tokens",
        body({ name: n, role: required(o, "role"), expiresAt: text(o, "expires-at") }),
      ),
  },
  "tokens revoke": {
    args: ["tokenId"],
    options: [],
    mutates: true,
    run: (c, [id]) => c.delete(`/admin/v1/operator-tokens/${seg(id!)}`),
  },
  "egress get": { args: [], options: [], run: (c) => c.get(EGRESS_PATH) },
  "egress set": {
    args: [],
    options: ["allow"],
    mutates: true,
    run: (c, _a, o) => c.put(EGRESS_PATH, { allow: list(o, "allow") ?? [] }),
  },
  "egress allow": {
    args: [],
    options: ["allow"],
    mutates: true,
    run: async (c, _a, o) => {
      const { allow } = await c.get<{ allow: string[] }>(EGRESS_PATH);
      return c.put(EGRESS_PATH, { allow: [...allow, ...(list(o, "allow") ?? [])] });
    },
  },
  "tenants egress": {
    args: ["tenant"],
    options: ["allow"],
    mutates: true,
    run: (c, [t], o) => c.patch(tenantPath(t!), { egressAllow: list(o, "allow") ?? [] }),
  },
  fleet: { args: [], options: [], run: (c) => c.get("/admin/v1/fleet") },
  versions: { args: [], options: [], run: (c) => c.get("/admin/v1/config/versions") },
  openapi: { args: [], options: [], run: (c) => c.get("/admin/v1/openapi.json") },
};

function newRoute(o: Options): Record<string, unknown> {
  return { ...routeFields(o), pathPrefix: required(o, "path"), upstreamId: required(o, "upstream") };
}

function newUpstream(o: Options): Record<string, unknown> {
  const fields = upstreamFields(o);
  if (fields.healthCheck === null) delete fields.healthCheck; // a new upstream has none unless asked
  return { ...fields, name: required(o, "name"), targets: list(o, "target") ?? [] };
}

/** The route fields the options name (create adds the required path and upstream). */
function routeFields(o: Options): Record<string, unknown> {
  const statuses = list(o, "retry-status")?.map((s) => wholeNumber("retry-status", s));
  const attempts = integer(o, "retries");
  if (statuses && attempts === undefined) throw new UsageError("--retry-status needs --retries N");
  return body({
    pathPrefix: text(o, "path"),
    upstreamId: text(o, "upstream"),
    retries: attempts === undefined ? undefined : body({ attempts, statuses }),
    hosts: list(o, "host"),
    methods: list(o, "method")?.map((m) => m.toUpperCase()),
    timeoutMs: integer(o, "timeout-ms"),
    protocol: text(o, "protocol"),
    stripPrefix: flag(o, "strip-prefix"),
    websocket: flag(o, "websocket"),
    websocketIdleTimeoutMs: integer(o, "ws-idle-timeout-ms"),
    websocketMaxConnections: integer(o, "ws-max-connections"),
    websocketMaxMessageBytes: integer(o, "ws-max-message-bytes"),
    streamIdleTimeoutMs: integer(o, "stream-idle-timeout-ms"),
    public: flag(o, "public"),
    idempotency: flag(o, "idempotency"),
    clientLimits: clientLimits(o),
  });
}
