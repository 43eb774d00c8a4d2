/**
 * Per-slot node credentials (docs/design.md §3.4, §8.4): one secret of the fleet (CORRAL_NODE_SECRET, known
 * to the control plane and to whoever mints credentials) derives each slot's credential, so
 * the CP verifies a node without a table and a leaked credential names exactly one slot.
 *
 *   credential = "crn_" + slot + "." + mac
 *   mac        = hex(SHA-256(secret + ":" + hex(SHA-256(secret + ":corral-node-v1:" + slot))))
 *
 * A nested hash rather than HMAC so that the Helm chart can render the same value with its
 * `sha256sum` template function (deploy/helm/corral, one Secret per slot). The outer hash
 * covers a fixed-length input, so the inner hash's length extension yields nothing; the slot
 * is checked against the slot-name pattern before any hashing. Pure.
 */
import { createHash, timingSafeEqual } from "node:crypto";

export const CREDENTIAL_PREFIX = "crn_";
/** the data plane's slot names: lower-case DNS-label characters, so "." separates the MAC */
export const CREDENTIAL_SLOT_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const MIN_NODE_SECRET_LENGTH = 32;
const CREDENTIAL_RE = /^crn_([a-z0-9][a-z0-9-]{0,62})\.([0-9a-f]{64})$/;

const sha256Hex = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

function mac(secret: string, slot: string): string {
  return sha256Hex(`${secret}:${sha256Hex(`${secret}:corral-node-v1:${slot}`)}`);
}

/** The credential of one slot; throws on a slot name a credential cannot carry. */
export function deriveNodeCredential(secret: string, slot: string): string {
  if (secret.length < MIN_NODE_SECRET_LENGTH)
    throw new Error(`the node secret must be at least ${MIN_NODE_SECRET_LENGTH} characters`);
  if (!CREDENTIAL_SLOT_RE.test(slot))
    throw new Error(`expected a slot name like dp-0 ([a-z0-9-], at most 63), got ${JSON.stringify(slot)}`);
  return `${CREDENTIAL_PREFIX}${slot}.${mac(secret, slot)}`;
}

/**
 * The key every node signs and checks peer-forward hops with (corral-hop): one per fleet secret,
 * so a node holding only its own slot credential cannot compute it; the CP puts it into the
 * snapshot. A different derivation label than the credentials', so neither reveals the other.
 */
export function deriveHopKey(secret: string): Buffer {
  return createHash("sha256").update(`${secret}:corral-hop-v1`, "utf8").digest();
}

/** The slot a credential names, without verifying it (the data plane checks its own setting). */
export function credentialSlot(credential: string): string | undefined {
  return CREDENTIAL_RE.exec(credential)?.[1];
}

/** The slot this credential was minted for, or undefined when it is malformed or forged. */
export function verifyNodeCredential(secret: string, credential: string): string | undefined {
  const match = CREDENTIAL_RE.exec(credential);
  if (!match) return undefined;
  const [, slot, given] = match as unknown as [string, string, string];
  const expected = Buffer.from(mac(secret, slot), "utf8");
  return timingSafeEqual(Buffer.from(given, "utf8"), expected) ? slot : undefined;
}
