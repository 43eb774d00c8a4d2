/**
 * The protocol-neutral steps of a keyed request, shared by the HTTP front (idempotent-proxy.ts)
 * and the gRPC one (idempotent-grpc.ts): claiming its record, what a refused claim answers, and
 * the lease kept alive while the claimed request runs.
 */
import { randomUUID } from "node:crypto";
import type { IdempotencySettings } from "../config.ts";
import { type Rejection, type RequestErrorCode, reject } from "../errors.ts";
import type { ClaimResult, IdempotencyStore, RecordNames } from "./idempotency-store.ts";
import type { StoredAnswer } from "./stored-answer.ts";

export const REPLAY_HEADER = "corral-idempotent-replay";

/** How a keyed request went, for metrics and logs (a bounded label set). */
export type IdempotencyOutcome =
  | "executed"
  | "replayed"
  | "in_flight"
  | "mismatch"
  | "spent"
  | "unavailable"
  | "invalid"
  | "too_large";

/** A front's parts: the proxy it wraps, the records' store and settings, and who is told what. */
export interface FrontOptions<Proxy> {
  proxy: Proxy;
  store: IdempotencyStore;
  settings: IdempotencySettings;
  onOutcome?: (outcome: IdempotencyOutcome) => void;
  onStoreError?: (err: unknown) => void;
}

/** What the claim decided: run it (as `owner`), replay the stored answer, or refuse. */
export type Claimed =
  | { kind: "claimed"; owner: string }
  | { kind: "replay"; answer: StoredAnswer }
  | { kind: "refused"; outcome: IdempotencyOutcome; rejection: Rejection };

const CLAIM_REFUSALS: Record<
  Exclude<ClaimResult["kind"], "claimed" | "replay">,
  [RequestErrorCode, string]
> = {
  mismatch: [
    "CORRAL_DP_IDEMPOTENCY_MISMATCH",
    "the key was first used with a different method, path or body",
  ],
  in_flight: ["CORRAL_DP_IDEMPOTENCY_IN_FLIGHT", "the first request with this key is still running"],
  spent: ["CORRAL_DP_IDEMPOTENCY_SPENT", ""],
};

const SPENT_DETAIL = {
  too_large: "the first answer was larger than the node keeps for replay; the request is not run again",
  unknown:
    "the first attempt ended without a complete answer (it may have run); the request is not run again",
};

/** Claims the key's record; a store that cannot answer refuses the request (never run). */
export async function claimKey(
  store: IdempotencyStore,
  names: RecordNames,
  fingerprint: string,
  onStoreError?: (err: unknown) => void,
): Promise<Claimed> {
  const owner = randomUUID();
  let claim: ClaimResult;
  try {
    claim = await store.claim(names, fingerprint, owner);
  } catch (err) {
    onStoreError?.(err);
    const rejection = reject("CORRAL_DP_IDEMPOTENCY_UNAVAILABLE", "try again later");
    return { kind: "refused", outcome: "unavailable", rejection };
  }
  if (claim.kind === "claimed") return { kind: "claimed", owner };
  if (claim.kind === "replay") return claim;
  const [code, detail] = CLAIM_REFUSALS[claim.kind];
  const rejection = reject(code, claim.kind === "spent" ? SPENT_DETAIL[claim.why] : detail);
  return { kind: "refused", outcome: claim.kind, rejection };
}

/** Renews the owner's lease every third of `leaseMs` while its request runs; call the result to stop. */
export function keepLease(
  store: IdempotencyStore,
  names: RecordNames,
  owner: string,
  leaseMs: number,
  onStoreError: (err: unknown) => void,
): () => void {
  const renewal = setInterval(() => store.renew(names, owner).catch(onStoreError), Math.floor(leaseMs / 3));
  renewal.unref();
  return () => clearInterval(renewal);
}
