/** pino logger for the control plane; secrets are redacted wherever they might appear. */
import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

/** Paths pino censors: credentials in headers, key/token fields at any of the first two levels. */
export const REDACT_PATHS = [
  "req.headers.authorization",
  'req.headers["x-api-key"]',
  "headers.authorization",
  'headers["x-api-key"]',
  "authorization",
  "*.authorization",
  "key",
  "*.key",
  "keys",
  "*.keys",
  "token",
  "*.token",
  "tokens",
  "*.tokens",
  "apiKey",
  "*.apiKey",
  "operatorToken",
  "*.operatorToken",
  "nodeToken",
  "*.nodeToken",
  "signingKey",
  "*.signingKey",
  "password",
  "*.password",
];

export interface LoggerOptions {
  level: string;
  cpId: string;
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level,
      base: { service: "corral-control-plane", cp: opts.cpId },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination,
  );
}
