/** Maps anything thrown while serving a request to a catalogued CorralError. */
import { CorralError } from "../errors.ts";
import { type ValidationIssue, validationError } from "../service/input-validation.ts";
import { sqlState } from "../store/db.ts";

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  validation?: ValidationIssue[];
  validationContext?: string;
  message?: string;
}

const CONNECTION_ERRORS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EPIPE",
]);

/** true for errors meaning the database cannot be reached (vs. a query it refused) */
export function isDatabaseUnavailable(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  if (code && CONNECTION_ERRORS.has(code)) return true;
  const state = sqlState(err);
  if (state && (state.startsWith("08") || state.startsWith("57P"))) return true;
  const message = (err as Error)?.message ?? "";
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(
    message,
  );
}

const BY_FASTIFY_CODE: Record<string, () => CorralError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => new CorralError("CORRAL_ADMIN_PAYLOAD_TOO_LARGE"),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => new CorralError("CORRAL_ADMIN_UNSUPPORTED_MEDIA_TYPE"),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new CorralError("CORRAL_ADMIN_MALFORMED_JSON", "the body is empty"),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new CorralError("CORRAL_ADMIN_MALFORMED_JSON"),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    new CorralError("CORRAL_ADMIN_VALIDATION", "content-length is wrong"),
};

export function toCorralError(err: unknown): CorralError {
  if (err instanceof CorralError) return err;
  const e = (err ?? {}) as FastifyLikeError;
  if (e.validation) return validationError(e.validation, e.validationContext ?? "request");
  const byCode = e.code ? BY_FASTIFY_CODE[e.code] : undefined;
  if (byCode) return byCode();
  if (err instanceof SyntaxError && e.statusCode === 400)
    return new CorralError("CORRAL_ADMIN_MALFORMED_JSON", e.message);
  if (isDatabaseUnavailable(err)) return new CorralError("CORRAL_CP_UNAVAILABLE");
  if (e.statusCode === 413) return new CorralError("CORRAL_ADMIN_PAYLOAD_TOO_LARGE");
  if (e.statusCode === 415) return new CorralError("CORRAL_ADMIN_UNSUPPORTED_MEDIA_TYPE");
  if (e.statusCode === 404) return new CorralError("CORRAL_ADMIN_NOT_FOUND");
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500)
    return new CorralError("CORRAL_ADMIN_VALIDATION", e.message ?? "bad request");
  return new CorralError("CORRAL_CP_INTERNAL");
}
