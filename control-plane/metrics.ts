/** The control plane's Prometheus metrics: one registry per CP, `corral_` prefix, bounded labels. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { registerArrayBuffersGauge, registerLiveHeapGauge } from "../runtime/memory-metrics.ts";

export class ControlPlaneMetrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: "corral_http_requests_total",
    help: "HTTP requests served, by method, route pattern and status",
    labelNames: ["method", "route", "status"] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: "corral_http_request_duration_seconds",
    help: "HTTP request duration by method and route pattern",
    labelNames: ["method", "route"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly snapshotUsage = new Gauge({
    name: "corral_snapshot_usage_ratio",
    help: "Used bytes of the last compiled snapshot divided by the capacity (refused above 1)",
    registers: [this.registry],
  });
  readonly snapshotBytes = new Gauge({
    name: "corral_snapshot_used_bytes",
    help: "Header plus compressed payload bytes of the last compiled snapshot",
    registers: [this.registry],
  });
  readonly snapshotPayloadBytes = new Gauge({
    name: "corral_snapshot_bytes",
    help: "Compressed payload bytes of the last compiled snapshot (the blob is always the capacity)",
    registers: [this.registry],
  });
  readonly compileDuration = new Histogram({
    name: "corral_snapshot_compile_seconds",
    help: "Time to read the configuration and compile it into a snapshot (or load a rolled-back one)",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  /** set by the publisher lease: whether this replica may publish now, and the epoch it last saw */
  leadership: () => { leader: boolean; epoch: number } = () => ({ leader: false, epoch: 0 });
  readonly publisherIsLeader: Gauge = new Gauge({
    name: "corral_publisher_is_leader",
    help: "1 while this replica holds the publisher lease and may publish, else 0",
    registers: [this.registry],
    collect: (): void => this.publisherIsLeader.set(this.leadership().leader ? 1 : 0),
  });
  readonly publisherEpoch: Gauge = new Gauge({
    name: "corral_publisher_epoch",
    help: "Epoch (fencing token) of the publisher lease as this replica last saw it",
    registers: [this.registry],
    collect: (): void => this.publisherEpoch.set(this.leadership().epoch),
  });
  readonly latestRewrites = new Counter({
    name: "corral_latest_rewrites_total",
    help: "Periodic rewrites of snapshots/LATEST by the lease holder, by result",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  readonly configVersion = new Gauge({
    name: "corral_config_version",
    help: "Newest config version this replica knows of",
    registers: [this.registry],
  });
  readonly publishes = new Counter({
    name: "corral_publish_total",
    help: "Publish attempts by result",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  readonly snapshotDeletes = new Counter({
    name: "corral_snapshot_deletes_total",
    help: "Snapshot blobs outside the retention window deleted from the blob store, by result",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  readonly publishDuration = new Histogram({
    name: "corral_publish_duration_seconds",
    help: "Time to load, compile, encode, store and point LATEST at a version",
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly propagation = new Histogram({
    name: "corral_config_propagation_seconds",
    help: "Time from publishing a version to a node's Ack of it",
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly syncConnections = new Gauge({
    name: "corral_sync_connections",
    help: "Open /sync/v1 connections from data-plane nodes",
    registers: [this.registry],
  });
  readonly syncFrames = new Counter({
    name: "corral_sync_frames_total",
    help: "Sync frames by direction and type",
    labelNames: ["direction", "type"] as const,
    registers: [this.registry],
  });
  readonly syncRejected = new Counter({
    name: "corral_sync_rejected_total",
    help: "Sync connections refused or closed for a protocol reason, by error code",
    labelNames: ["code"] as const,
    registers: [this.registry],
  });
  readonly syncWrites = new Counter({
    name: "corral_sync_node_writes_total",
    help: "Database writes of node state from sync frames, by kind (after coalescing)",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly syncCoalesced = new Counter({
    name: "corral_sync_coalesced_total",
    help: "Node frames whose database write a newer frame of the same kind replaced before it ran",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly nodeReports = new Counter({
    name: "corral_node_reports_total",
    help: "Acks and Nacks received from nodes",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: "corral_" });
      registerArrayBuffersGauge(this.registry, "corral_");
      registerLiveHeapGauge(this.registry, "corral_");
    }
  }
}
