/**
 * OpenTelemetry span export, the same for the data plane and the control plane: the settings
 * (TRACING_SCHEMA, spread into each side's schema), and the tracer they describe. OFF unless an
 * OTLP endpoint is set. When on: parent-based sampling at CORRAL_TRACE_SAMPLE_RATIO (a sampled
 * remote parent is always followed), spans batched in a bounded queue (full: new spans are
 * dropped, never waited for) and sent over OTLP/HTTP (protobuf) in the background, each export
 * bounded by a timeout; an unreachable collector costs dropped spans, never a slower request.
 */
import {
  type Attributes,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { TraceState } from "@opentelemetry/core";
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
import { parseTraceparent, type TraceParent, validTracestate } from "./trace-context.ts";

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

/** Corral's own span attributes (the semantic conventions' where they have one). */
export const SPAN_ATTRIBUTES = {
  tenant: "corral.tenant.id",
  route: "corral.route.id",
  reason: "corral.reason",
  operator: "corral.operator",
} as const;

/**
 * A server span for one incoming request or call: the child of the caller's span when its
 * traceparent was valid (parent-based sampling follows the caller's flag), else a new trace.
 */
export function startServerSpan(
  tracer: Tracer,
  name: string,
  parent: TraceParent | undefined,
  tracestate: string | undefined,
  attributes?: Attributes,
): Span {
  const ctx = parent
    ? trace.setSpanContext(ROOT_CONTEXT, {
        traceId: parent.traceId,
        spanId: parent.parentId,
        traceFlags: parent.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
        isRemote: true,
        traceState: tracestate === undefined ? undefined : new TraceState(tracestate),
      })
    : ROOT_CONTEXT;
  return tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, ctx);
}

/** startServerSpan from a request's headers or metadata (traceparent and tracestate as received). */
export function startSpanFromHeaders(
  tracer: Tracer,
  name: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  attributes?: Attributes,
): Span {
  const parent = parseTraceparent(headers.traceparent);
  return startServerSpan(
    tracer,
    name,
    parent,
    parent ? validTracestate(headers.tracestate) : undefined,
    attributes,
  );
}

/** Ends a span with its final attributes (undefined ones left out); `failed` marks it an error. */
export function finishSpan(
  span: Span,
  attributes: Record<string, string | number | undefined>,
  failed: boolean,
  name?: string,
): void {
  if (!span.isRecording()) return;
  for (const key in attributes) {
    const value = attributes[key];
    if (value !== undefined) span.setAttribute(key, value);
  }
  if (name) span.updateName(name);
  if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
