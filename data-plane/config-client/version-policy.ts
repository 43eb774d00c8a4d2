/**
 * Pure decisions of the apply path: what to do with a verified blob given the version served
 * now, and which of two waiting triggers to keep when applies pile up.
 */
export interface ServedVersion {
  version: number;
  /** hex payload digest of the served snapshot */
  digestHex: string;
}

/**
 * apply: newer than what is served. same: the served version again (re-verified, nothing to do).
 * regression: older; never applied. conflict: same version, different content; never applied.
 */
export type VersionDecision = "apply" | "same" | "regression" | "conflict";

export function decideVersion(served: ServedVersion | undefined, candidate: ServedVersion): VersionDecision {
  if (!served || candidate.version > served.version) return "apply";
  if (candidate.version < served.version) return "regression";
  return candidate.digestHex === served.digestHex ? "same" : "conflict";
}

export type TriggerKind = "boot" | "welcome" | "announce" | "pull";

export interface ApplyTrigger {
  kind: TriggerKind;
  /** for welcome/announce: the version, key and whole-blob sha256 the control plane named */
  version?: number;
  key?: string;
  sha256?: string;
}

/**
 * One trigger waits while an apply runs; a newer one replaces it, except that a trigger naming
 * a version is not replaced by one naming a lower version, nor by a pull (which names none and
 * comes again within one period).
 */
export function coalesce(waiting: ApplyTrigger | undefined, incoming: ApplyTrigger): ApplyTrigger {
  if (!waiting || waiting.version === undefined) return incoming;
  if (incoming.version === undefined) return incoming.kind === "boot" ? incoming : waiting;
  return incoming.version >= waiting.version ? incoming : waiting;
}
