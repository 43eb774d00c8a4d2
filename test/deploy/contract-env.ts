/** The CORRAL_* variables each process accepts, as fixed by the contract (DESIGN.md §8). */

export type Role = "control-plane" | "data-plane" | "migrate";

const CONTROL_PLANE = [
  "CORRAL_PG_URL",
  "CORRAL_BLOB_URL",
  "CORRAL_S3_ENDPOINT",
  "CORRAL_HOST",
  "CORRAL_HTTP_PORT",
  "CORRAL_GRPC_PORT",
  "CORRAL_NODE_TOKEN",
  "CORRAL_SIGNING_KEY",
  "CORRAL_OPERATOR_TOKEN",
  "CORRAL_SNAPSHOT_CAPACITY",
  "CORRAL_MIGRATE",
  "CORRAL_CP_ID",
  "CORRAL_LOG_LEVEL",
];

const DATA_PLANE = [
  "CORRAL_CP_URL",
  "CORRAL_NODE_TOKEN",
  "CORRAL_VERIFY_KEY",
  "CORRAL_BLOB_URL",
  "CORRAL_S3_ENDPOINT",
  "CORRAL_SLOT",
  "CORRAL_ZONE",
  "CORRAL_HOST",
  "CORRAL_HTTP_PORT",
  "CORRAL_GRPC_PORT",
  "CORRAL_OPS_PORT",
  "CORRAL_ADVERTISE_URL",
  "CORRAL_DATA_DIR",
  "CORRAL_SNAPSHOT_CAPACITY",
  "CORRAL_POLL_INTERVAL_MS",
  "CORRAL_REDIS_URL",
  "CORRAL_LOG_LEVEL",
];

/** `corral migrate` reads CORRAL_PG_URL and CORRAL_LOG_LEVEL and tolerates the other control-plane ones. */
export const CONTRACT_ENV: Record<Role, string[]> = {
  "control-plane": CONTROL_PLANE,
  "data-plane": DATA_PLANE,
  migrate: CONTROL_PLANE,
};

export const REQUIRED_ENV: Record<Role, string[]> = {
  "control-plane": ["CORRAL_PG_URL", "CORRAL_NODE_TOKEN", "CORRAL_SIGNING_KEY", "CORRAL_BLOB_URL"],
  "data-plane": ["CORRAL_CP_URL", "CORRAL_NODE_TOKEN", "CORRAL_VERIFY_KEY", "CORRAL_SLOT", "CORRAL_BLOB_URL"],
  migrate: ["CORRAL_PG_URL"],
};

/** Variables that carry secrets: never plain env values in a manifest. (CORRAL_REDIS_URL is
 * plain when given as redis.url, from a Secret with redis.existingSecret.) */
export const SECRET_ENV = [
  "CORRAL_PG_URL",
  "CORRAL_SIGNING_KEY",
  "CORRAL_VERIFY_KEY",
  "CORRAL_NODE_TOKEN",
  "CORRAL_OPERATOR_TOKEN",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
];

/** The role a container runs, from its arguments to bin/corral.ts. */
export function roleOf(args: string[] | undefined): Role {
  const role = args?.[0];
  if (role === "control-plane" || role === "data-plane" || role === "migrate") return role;
  throw new Error(`container args ${JSON.stringify(args)} name no corral role`);
}
