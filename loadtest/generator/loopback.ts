import { isIPv4 } from "node:net";
import { LoadtestError } from "../errors.ts";

/** True for 127.0.0.0/8, ::1 (with or without brackets) and the name localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === "localhost") return true;
  if (bare === "::1" || bare === "0:0:0:0:0:0:0:1") return true;
  return isIPv4(bare) && bare.split(".")[0] === "127";
}

/** Throws CORRAL_LOADTEST_NOT_LOOPBACK unless `url` is http(s) to a loopback host. */
export function assertLoopbackUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new LoadtestError("CORRAL_LOADTEST_NOT_LOOPBACK", `not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    throw new LoadtestError("CORRAL_LOADTEST_NOT_LOOPBACK", `${url}: only http and https are supported`);
  if (!isLoopbackHost(parsed.hostname))
    throw new LoadtestError(
      "CORRAL_LOADTEST_NOT_LOOPBACK",
      `${url}: host ${parsed.hostname} is not 127.0.0.0/8, ::1 or localhost`,
    );
  return parsed;
}

/** Throws CORRAL_LOADTEST_NOT_LOOPBACK unless `address` ("host:port", "[::1]:port") is loopback. */
export function assertLoopbackAddress(address: string): string {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(address);
  if (!match) throw new LoadtestError("CORRAL_LOADTEST_NOT_LOOPBACK", `not a host:port address: ${address}`);
  if (!isLoopbackHost(match[1]!))
    throw new LoadtestError(
      "CORRAL_LOADTEST_NOT_LOOPBACK",
      `${address}: host ${match[1]} is not 127.0.0.0/8, ::1 or localhost`,
    );
  return address;
}
