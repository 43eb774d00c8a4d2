/**
 * OpenTelemetry span export, the same for the data plane and the control plane: the settings
 * (TRACING_SCHEMA, spread into each side's schema), and the tracer they describe. OFF unless an
 * OTLP endpoint is set. When on: parent-based sampling at CORRAL_TRACE_SAMPLE_RATIO (a sampled
 * remote parent is always followed), spans batched in a bounded queue (full: new spans are
 * dropped, never waited for) and sent over OTLP/HTTP (protobuf) in the background, each export
 * bounded by a timeout; an unreachable collector costs dropped spans, never a slower request.
 */
import type { Tracer } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_INSTANCE_ID, ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import { type ConfigOf, fraction, int, url } from "./env-config.ts";

export const TRACING_SCHEMA = {
  CORRAL_OTEL_EXPORTER_OTLP_ENDPOINT: {
    parse: url(["http:", "https:"]),
    default: "",
    doc: "OTLP/HTTP collector base URL; spans go to <url>/v1/traces as protobuf (default: no export). OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the full URL) is read when this is unset",
  },
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: {
    parse: url(["http:", "https:"]),
    default: "",
    doc: "the standard OpenTelemetry variable: full OTLP/HTTP traces URL (used when CORRAL_OTEL_EXPORTER_OTLP_ENDPOINT is unset)",
  },
  CORRAL_TRACE_SAMPLE_RATIO: {
    parse: fraction,
    default: 0.01,
    doc: "share of new traces recorded and exported (0..1); a request whose traceparent is sampled is always recorded (parent-based)",
  },
  CORRAL_TRACE_QUEUE_SIZE: {
    parse: int(64, 65_536),
    default: 2048,
    doc: "spans waiting for export at most; more are dropped",
  },
} as const;

export interface TracingSettings {
  /** full OTLP/HTTP traces URL; undefined: export off */
  endpoint: string | undefined;
  sampleRatio: number;
  queueSize: number;
}

export function tracingSettings(c: ConfigOf<typeof TRACING_SCHEMA>): TracingSettings {
  const base = c.CORRAL_OTEL_EXPORTER_OTLP_ENDPOINT;
  const endpoint = base ? `${base.replace(/\/+$/, "")}/v1/traces` : c.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  return {
    endpoint: endpoint || undefined,
    sampleRatio: c.CORRAL_TRACE_SAMPLE_RATIO,
    queueSize: c.CORRAL_TRACE_QUEUE_SIZE,
  };
}

/** Export on: the tracer, and close() which sends what is queued (bounded by the export timeout) and stops. */
export interface Tracing {
  readonly tracer: Tracer;
  close(): Promise<void>;
}

/** Bounds of one export: the collector's answer, and spans per request. */
const EXPORT_TIMEOUT_MS = 5_000;
const BATCH_SPANS = 512;
const BATCH_DELAY_MS = 1_000;

/** The tracer the settings describe, or undefined when export is off. */
export function startTracing(
  s: TracingSettings,
  service: { name: string; instance: string },
): Tracing | undefined {
  if (!s.endpoint) return undefined;
  const exporter = new OTLPTraceExporter({
    url: s.endpoint,
    timeoutMillis: EXPORT_TIMEOUT_MS,
    concurrencyLimit: 2,
  });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: service.name,
      [ATTR_SERVICE_INSTANCE_ID]: service.instance,
    }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(s.sampleRatio) }),
    spanLimits: { attributeCountLimit: 16, attributeValueLengthLimit: 256, eventCountLimit: 0 },
    spanProcessors: [
      new BatchSpanProcessor({
        exporter,
        maxQueueSize: s.queueSize,
        maxExportBatchSize: Math.min(BATCH_SPANS, s.queueSize),
        scheduledDelayMillis: BATCH_DELAY_MS,
        exportTimeoutMillis: EXPORT_TIMEOUT_MS,
      }),
    ],
  });
  return {
    tracer: provider.getTracer("corral"),
    // a collector that is down costs the last spans, never a failed or hung shutdown
    close: () => provider.shutdown().catch(() => undefined),
  };
}
