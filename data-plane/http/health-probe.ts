/**
 * The active health check of an HTTP target: GET the check's path (under the target's base
 * path) on the target's keep-alive pool (upstream-pools.ts, so it connects through the tenant's
 * egress policy like any request). A 2xx within the check's timeout passes; another status, a
 * connection failure or no answer in time fails. The body is read and dropped, up to 64 KiB.
 */
import type { HealthProbe } from "../upstream/health-checker.ts";
import type { UpstreamPools } from "./upstream-pools.ts";

const MAX_BODY_BYTES = 64 * 1024;

export function httpHealthProbe(pools: UpstreamPools): HealthProbe {
  return async ({ target, upstream, egress, hc }) => {
    const pool = pools.poolTo(target, egress, upstream.connectTimeoutMs);
    try {
      const res = await pool.request({
        path: `${target.basePath}${hc.path}`,
        method: "GET",
        headers: { "user-agent": "corral-health-check" },
        headersTimeout: hc.timeoutMs,
        bodyTimeout: hc.timeoutMs,
        signal: AbortSignal.timeout(hc.timeoutMs),
      });
      await res.body.dump({ limit: MAX_BODY_BYTES }).catch(() => {});
      return res.statusCode >= 200 && res.statusCode < 300;
    } catch {
      return false;
    }
  };
}
