/** Ed25519 key handling for snapshot signing (CP) and verification (DP). */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";

export interface EncodedKeyPair {
  /** base64 of the PKCS#8 DER private key: the value of CORRAL_SIGNING_KEY */
  privateKey: string;
  /** base64 of the SPKI DER public key: the value of CORRAL_VERIFY_KEY */
  publicKey: string;
}

export function generateSigningKeyPair(): EncodedKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    privateKey: privateKey.export({ format: "der", type: "pkcs8" }).toString("base64"),
    publicKey: publicKey.export({ format: "der", type: "spki" }).toString("base64"),
  };
}

function isPem(text: string): boolean {
  return text.trimStart().startsWith("-----BEGIN");
}

/** An Ed25519 key from PEM or base64 DER; throws on anything else. */
function parseEd25519(
  text: string,
  create: (input: string) => KeyObject,
  fromDer: (der: Buffer) => KeyObject,
) {
  const key = isPem(text) ? create(text) : fromDer(Buffer.from(text, "base64"));
  if (key.asymmetricKeyType !== "ed25519")
    throw new Error(`expected an ed25519 key, got ${key.asymmetricKeyType}`);
  return key;
}

/** Accepts PEM or base64 DER (PKCS#8). Throws on anything else or a non-Ed25519 key. */
export function parsePrivateKey(text: string): KeyObject {
  return parseEd25519(text, createPrivateKey, (key) =>
    createPrivateKey({ key, format: "der", type: "pkcs8" }),
  );
}

/** Accepts PEM or base64 DER (SPKI). Throws on anything else or a non-Ed25519 key. */
export function parsePublicKey(text: string): KeyObject {
  return parseEd25519(text, createPublicKey, (key) => createPublicKey({ key, format: "der", type: "spki" }));
}
