import { Pool } from "undici";
import { STATS_PATH } from "./fixed-latency-server.ts";

/**
 * What a request to the fixed-latency upstream should cost, measured apart from the
 * generator: how long the upstream itself held requests (its timers fire late on a
 * loaded machine; that is not the generator's error) plus the loopback round trip of an
 * immediate answer. The generator's p50 is judged against their sum.
 */
export type HoldStats = { count: number; p50Ms: number };

/** The upstream's own record: requests answered so far and the median time it held them. */
export async function upstreamHoldStats(url: string): Promise<HoldStats> {
  const res = await fetch(`${url}${STATS_PATH}`);
  return (await res.json()) as HoldStats;
}

/** Median round trip of an immediate answer over one keep-alive connection (101 requests). */
export async function loopbackRoundTripP50(url: string): Promise<number> {
  const pool = new Pool(url, { connections: 1 });
  const rtts: number[] = [];
  try {
    for (let i = 0; i < 101; i++) {
      const start = performance.now();
      const res = await pool.request({ path: STATS_PATH, method: "GET" });
      await res.body.dump();
      rtts.push(performance.now() - start);
    }
  } finally {
    await pool.close();
  }
  return rtts.sort((a, b) => a - b)[50]!;
}
