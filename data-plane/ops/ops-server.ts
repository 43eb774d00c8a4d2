/** Operations endpoints on their own port: /healthz, /readyz, /metrics, /status. */
import Fastify from "fastify";
import type { Logger } from "pino";
import { boundUrl } from "../../proto/bound-url.ts";
import type { NodeState } from "../node-state.ts";
import { fastifyLogger, quietLogController } from "./fastify-logger.ts";
import type { DataPlaneMetrics } from "./metrics.ts";

export interface OpsServer {
  readonly url: string;
  close(): Promise<void>;
}

export function opsApp(state: NodeState, metrics: DataPlaneMetrics, logger: Logger) {
  const app = Fastify({ loggerInstance: fastifyLogger(logger), logController: quietLogController() });
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    const ready = state.ready;
    return reply.code(ready ? 200 : 503).send({ ready, version: state.version, draining: state.draining });
  });
  app.get("/metrics", async (_req, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });
  app.get("/status", async () => state.view());
  return app;
}

export async function startOps(
  state: NodeState,
  metrics: DataPlaneMetrics,
  logger: Logger,
  host: string,
  port: number,
): Promise<OpsServer> {
  const app = opsApp(state, metrics, logger);
  await app.listen({ host, port });
  return { url: boundUrl(app.server, host, port), close: () => app.close() };
}
