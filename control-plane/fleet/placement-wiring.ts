/**
 * Placement for one CP replica, from its settings: the seed, the placement service (admin API),
 * the fleet watcher (publishes when slots join, leave, die or are forgotten) and the compiler's
 * placement options. Liveness window: 4 sync ping intervals (see placement/fleet-slots.ts).
 */
import type { ControlPlaneConfig } from "../config.ts";
import { deriveHopKey } from "../../proto/node-credential.ts";
import type { Logger } from "../logger.ts";
import type { CompileOptions } from "../publish/compile.ts";
import type { Pool } from "../store/db.ts";
import { FleetWatcher } from "./fleet-watcher.ts";
import { placementSeed } from "./placement-seed.ts";
import { PlacementService } from "./placement-service.ts";

export interface PlacementWiring {
  service: PlacementService;
  watcher: FleetWatcher;
  compileOptions: () => Partial<CompileOptions>;
}

export function createPlacement(deps: {
  config: ControlPlaneConfig;
  pool: Pool;
  logger: Logger;
  pingIntervalMs: number;
  /** how often the watcher compares the fleet with the last snapshot (default 5 s) */
  checkIntervalMs?: number;
  requestPublish: () => void;
}): PlacementWiring {
  const seed = placementSeed(deps.config.CORRAL_PLACEMENT_SEED, deps.config.CORRAL_SIGNING_KEY);
  const service = new PlacementService(deps.pool, {
    seed,
    forgetDelayMs: deps.config.CORRAL_PLACEMENT_FORGET_MS,
    liveWindowMs: 4 * deps.pingIntervalMs,
    strict: deps.config.CORRAL_PLACEMENT_STRICT,
    hopKey: deriveHopKey(deps.config.CORRAL_NODE_SECRET),
  });
  const watcher = new FleetWatcher({
    currentSlots: () => service.currentSlots(),
    requestPublish: deps.requestPublish,
    logger: deps.logger,
    intervalMs: deps.checkIntervalMs,
  });
  deps.logger.info(
    { seedSource: seed.source, seedFingerprint: seed.fingerprint, forgetMs: service.config.forgetDelayMs },
    "placement",
  );
  return {
    service,
    watcher,
    compileOptions: () => service.compileOptions((slots) => watcher.compiled(slots)),
  };
}
