/**
 * Secrets of a local platform, generated once and kept in `<dir>/secrets.json` (mode 0600)
 * so a restarted `corral dev` keeps its signing key, tokens and demo key.
 */
import { createPublicKey, type KeyObject, randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { MIN_NODE_SECRET_LENGTH } from "../../proto/node-credential.ts";
import { generateSigningKeyPair, parsePrivateKey, parsePublicKey } from "../../proto/signing-keys.ts";

export interface DevSecrets {
  /** CORRAL_SIGNING_KEY of the control plane */
  signingKey: string;
  /** CORRAL_VERIFY_KEY of the data planes */
  verifyKey: string;
  /** CORRAL_NODE_SECRET of the control plane; each data plane gets its slot's credential from it */
  nodeSecret: string;
  /** CORRAL_OPERATOR_TOKEN: bootstrap operator token, role admin */
  operatorToken: string;
  /** the demo tenant's API key (shown once by the admin API, so kept here) */
  demoApiKey?: { id: string; key: string };
}

export const SECRETS_FILE = "secrets.json";

export function generateToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString("base64url")}`;
}

export function generateSecrets(): DevSecrets {
  const pair = generateSigningKeyPair();
  return {
    signingKey: pair.privateKey,
    verifyKey: pair.publicKey,
    nodeSecret: randomBytes(32).toString("base64url"),
    operatorToken: generateToken("cro"),
  };
}

/** Keeps what is valid in `stored` and generates the rest (a key pair is kept or replaced whole). */
export function completeSecrets(stored: unknown, fresh: DevSecrets = generateSecrets()): DevSecrets {
  const s = (typeof stored === "object" && stored !== null ? stored : {}) as Record<string, unknown>;
  const pairValid = isKeyPair(s.signingKey, s.verifyKey);
  const token = (v: unknown, fallback: string, min = 16) =>
    typeof v === "string" && v.length >= min ? v : fallback;
  const out: DevSecrets = {
    signingKey: pairValid ? (s.signingKey as string) : fresh.signingKey,
    verifyKey: pairValid ? (s.verifyKey as string) : fresh.verifyKey,
    nodeSecret: token(s.nodeSecret, fresh.nodeSecret, MIN_NODE_SECRET_LENGTH),
    operatorToken: token(s.operatorToken, fresh.operatorToken),
  };
  const demo = s.demoApiKey as { id?: unknown; key?: unknown } | undefined;
  if (typeof demo?.id === "string" && typeof demo.key === "string")
    out.demoApiKey = { id: demo.id, key: demo.key };
  return out;
}

function isKeyPair(privateText: unknown, publicText: unknown): boolean {
  if (typeof privateText !== "string" || typeof publicText !== "string") return false;
  try {
    const fromPrivate = createPublicKey(parsePrivateKey(privateText));
    const spki = (key: KeyObject) => key.export({ format: "der", type: "spki" });
    return spki(fromPrivate).equals(spki(parsePublicKey(publicText)));
  } catch {
    return false;
  }
}

export async function loadSecrets(dir: string): Promise<DevSecrets> {
  const path = join(dir, SECRETS_FILE);
  let stored: unknown;
  try {
    stored = JSON.parse(await readFile(path, "utf8"));
    await chmod(path, 0o600);
  } catch {
    stored = undefined;
  }
  const secrets = completeSecrets(stored);
  if (JSON.stringify(stored) !== JSON.stringify(secrets)) await saveSecrets(dir, secrets);
  return secrets;
}

/** Written to a 0600 temp file, fsynced, renamed: never readable by others, never half written. */
export async function saveSecrets(dir: string, secrets: DevSecrets): Promise<void> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, SECRETS_FILE);
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(secrets, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
