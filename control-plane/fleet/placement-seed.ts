/**
 * The secret seed of shuffle-shard placement. Every CP replica must use the same one, or
 * they would publish different shards. CORRAL_PLACEMENT_SEED sets it; without it the seed is
 * derived from the snapshot signing key (HMAC-SHA256 of a fixed label under the key's DER
 * bytes), which every replica already shares, so a dev setup works with nothing to set.
 * Rotating the signing key without an explicit seed reshuffles every tenant's shard: set
 * CORRAL_PLACEMENT_SEED in production. The fingerprint identifies a seed without revealing it.
 */
import { createHmac, type KeyObject } from "node:crypto";

const DERIVATION_LABEL = "corral placement seed v1";
const FINGERPRINT_LABEL = "corral placement seed fingerprint v1";

export interface PlacementSeed {
  seed: Buffer;
  /** 16 hex digits: equal on every replica using the same seed */
  fingerprint: string;
  source: "CORRAL_PLACEMENT_SEED" | "CORRAL_SIGNING_KEY";
}

export function placementSeed(explicit: string, signingKey: KeyObject): PlacementSeed {
  const seed = explicit
    ? Buffer.from(explicit, "utf8")
    : createHmac("sha256", signingKey.export({ format: "der", type: "pkcs8" }))
        .update(DERIVATION_LABEL)
        .digest();
  const fingerprint = createHmac("sha256", seed).update(FINGERPRINT_LABEL).digest("hex").slice(0, 16);
  return { seed, fingerprint, source: explicit ? "CORRAL_PLACEMENT_SEED" : "CORRAL_SIGNING_KEY" };
}
