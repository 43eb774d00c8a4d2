/**
 * The shape of an idempotency key, one rule for both planes: the control plane's
 * Idempotency-Key / client_token and the data plane's gateway Idempotency-Key header.
 */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** 1-255 visible ASCII characters. */
export function isIdempotencyKey(key: string): boolean {
  return /^[\x21-\x7e]{1,255}$/.test(key);
}
