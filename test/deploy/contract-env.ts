/**
 * The CORRAL_* variables each process accepts, read from the processes' own settings schemas
 * (so the chart is checked against what the code really parses, never a copy of it).
 */
import { controlPlaneSchema } from "../../control-plane/config.ts";
import { dataPlaneSchema } from "../../data-plane/config.ts";
import type { Schema } from "../../runtime/env-config.ts";

export type Role = "control-plane" | "data-plane" | "migrate";

const CONTROL_PLANE: Schema = controlPlaneSchema("/");
const DATA_PLANE: Schema = dataPlaneSchema("/");

function required(schema: Schema): string[] {
  return Object.entries(schema)
    .filter(([, setting]) => setting.default === undefined)
    .map(([name]) => name);
}

/** `corral migrate` reads CORRAL_PG_URL and CORRAL_LOG_LEVEL and tolerates the other control-plane ones. */
export const CONTRACT_ENV: Record<Role, string[]> = {
  "control-plane": Object.keys(CONTROL_PLANE),
  "data-plane": Object.keys(DATA_PLANE),
  migrate: Object.keys(CONTROL_PLANE),
};

/** Variables without a default; the chart also sets CORRAL_BLOB_URL, which production needs. */
export const REQUIRED_ENV: Record<Role, string[]> = {
  "control-plane": [...required(CONTROL_PLANE), "CORRAL_BLOB_URL"],
  "data-plane": [...required(DATA_PLANE), "CORRAL_BLOB_URL"],
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
