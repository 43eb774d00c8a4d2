/**
 * What both tenant ingresses (http/http-ingress.ts, grpc/grpc-ingress.ts) are started with;
 * each adds its proxy, forwarder and protocol's own bounds.
 */
import type { Logger } from "pino";
import type { NodeState } from "../node-state.ts";
import type { DataPlaneMetrics } from "../ops/metrics.ts";
import type { OriginRules } from "./client-origin.ts";
import type { Stage } from "./stage.ts";
import type { RequestMeter } from "./usage-metering.ts";

export interface IngressBaseOptions {
  host: string;
  port: number;
  logger: Logger;
  stages: readonly Stage[];
  metrics: DataPlaneMetrics;
  state: NodeState;
  /** bytes of headers (HTTP/1.1) or metadata (SETTINGS_MAX_HEADER_LIST_SIZE) a request may send */
  maxHeaderBytes: number;
  /** whom the node believes about a request's origin (trusted proxies, signed peer hops) */
  origin: OriginRules;
  /** share of successful requests logged (default 1: every one); rejections and errors always are */
  logSampleRate?: number;
  /** the sampler's randomness (default Math.random) */
  random?: () => number;
  /** counts each request's verdict for usage metering (reported in Status frames) */
  usage?: RequestMeter;
}
