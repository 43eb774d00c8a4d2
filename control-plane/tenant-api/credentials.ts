/** The API key a caller presents: `x-api-key: <key>`, else `authorization: Bearer <key>`. Pure. */
import { MAX_KEY_LENGTH } from "../../proto/api-key.ts";

export function presentedKey(
  xApiKey: string | undefined,
  authorization: string | undefined,
): string | undefined {
  if (xApiKey !== undefined) return bounded(xApiKey.trim());
  if (authorization === undefined) return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
  return match ? bounded(match[1]!) : undefined;
}

function bounded(key: string): string | undefined {
  return key.length > 0 && key.length <= MAX_KEY_LENGTH ? key : undefined;
}
