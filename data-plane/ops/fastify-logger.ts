/** Fastify's own log lines ("Server listening at", per-request lines) are noise next to ours. */
import { LogController } from "fastify";
import type { Logger } from "pino";

const WARN = 40;

/** The logger for fastify internals: at least warn, never more verbose than the node's. */
export function fastifyLogger(logger: Logger): Logger {
  return logger.levelVal < WARN ? logger.child({}, { level: "warn" }) : logger;
}

export function quietLogController(): LogController {
  return new LogController({ disableRequestLogging: true });
}

/**
 * Fastify makes a child logger (request id bound) for every request: a pino child per request
 * on the tenant request path, where our own log line is written by the ingress anyway. Its
 * rare own lines (warnings, errors) go to the shared logger, without a request id.
 */
export function sharedRequestLogger<L>(logger: L): L {
  return logger;
}
