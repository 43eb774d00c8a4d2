/**
 * What the platform scenarios (scenarios that start a control plane and data planes
 * through PlatformSession) share: their usual fleet parameters, the thresholds most of
 * them judge, and opening the session from those parameters. A scenario spreads
 * FLEET_PARAMS into its own params (overriding what differs) and calls openFleet.
 */
import { PlatformSession, type SessionOptions } from "./session.ts";
import type { Params, ScenarioContext } from "../scenario/types.ts";

/** The usual fleet: three data planes, twenty tenants on shards of two, Zipf load. */
export const FLEET_PARAMS = {
  dataPlanes: 3,
  tenants: 20,
  shardSize: 2,
  rate: 300,
  zipf: 1,
  warmupSec: 3,
  upstreamDelayMs: 1,
};

/** The parameters openFleet reads. */
export type FleetParams = Params & {
  dataPlanes: number;
  tenants: number;
  shardSize: number;
  upstreamDelayMs: number;
};

export const NO_FAILED_REQUEST = { metric: "main.error_rate", description: "no failed request", max: 0 };

/** Every (running) node applied the newest config version when the run ends. */
export const NODES_ON_NEWEST = {
  metric: "config.nodes_behind",
  description: "nodes not on the newest config version",
  max: 0,
};

/** NODES_ON_NEWEST for scenarios whose changes flow until the end. */
export const NODES_ON_NEWEST_AT_END = {
  ...NODES_ON_NEWEST,
  description: "nodes not on the newest version at the end",
};

/**
 * Opens the session with the fleet the parameters name; `options` adds to it or
 * overrides it (e.g. one more tenant than `tenants`, extra environment).
 */
export function openFleet<P extends FleetParams>(
  ctx: ScenarioContext<P>,
  options: Partial<SessionOptions> = {},
): Promise<PlatformSession<P>> {
  const p = ctx.params;
  return PlatformSession.open(ctx, {
    dataPlanes: p.dataPlanes,
    tenants: p.tenants,
    shardSize: p.shardSize,
    upstreamDelayMs: p.upstreamDelayMs,
    ...options,
  });
}
