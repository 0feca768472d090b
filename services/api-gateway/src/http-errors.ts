import type { ValidationIssue } from "@sdn/bus";
import { ERROR_CODES, httpStatusOf, SdnError, type ErrorBody, type ErrorCode } from "@sdn/contracts";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";

/** An HTTP error with a code from the shared error model. */
export class HttpError extends SdnError {
  override readonly name = "HttpError";
  get statusCode(): number {
    return httpStatusOf(this.code);
  }
}

const codeForStatus = (status: number): ErrorCode => {
  const match = (Object.entries(ERROR_CODES) as [ErrorCode, number][]).find(([, s]) => s === status);
  if (match !== undefined) return match[0];
  return status >= 500 ? "INTERNAL" : "VALIDATION_FAILED";
};

export const sendError = (reply: FastifyReply, body: ErrorBody): FastifyReply =>
  reply.status(httpStatusOf(body.code)).send({ error: body });

/** Fastify's messages for its own client errors, in words a caller can act on. */
const FASTIFY_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: "the body is not valid JSON",
  FST_ERR_CTP_EMPTY_JSON_BODY: "the body is empty but content-type is application/json; send {} or no content-type",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "unsupported content-type; send application/json",
  FST_ERR_CTP_BODY_TOO_LARGE: "the body is larger than this server accepts",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "content-length does not match the body",
};

/** Errors the NATS client raises when the bus is away or JetStream does not answer. */
const NATS_FAILURES = new Set([
  "TimeoutError",
  "RequestError",
  "ConnectionError",
  "ClosedConnectionError",
  "DrainingConnectionError",
  "NoRespondersError",
  "JetStreamError",
]);

/**
 * The one error handler: every failure leaves as `{ error: { code, message, details? } }`
 * with the status of its code. Only INTERNAL hides its cause (which is logged).
 */
export const errorHandler = (err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply => {
  if (err.validation !== undefined) {
    const issues: ValidationIssue[] = err.validation.map((v) => ({
      path: `${err.validationContext ?? "body"}${v.instancePath === "/" ? "" : v.instancePath}`,
      message: v.message ?? "is invalid",
    }));
    return sendError(reply, {
      code: "VALIDATION_FAILED",
      message: `invalid request: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
      details: { issues },
    });
  }
  // An HttpError, a peer's refusal passed on (CommandFailedError) or the bus's own failure.
  if (err instanceof SdnError) {
    return sendError(reply, {
      code: err.code,
      message: err.message,
      ...(err.details === undefined ? {} : { details: err.details }),
    });
  }
  if (NATS_FAILURES.has(err.name)) {
    req.log.warn({ err }, "message bus unavailable");
    return sendError(reply, { code: "UNAVAILABLE", message: "the message bus is not answering; retry shortly" });
  }
  const status = err.statusCode ?? 500;
  if (status < 500) {
    const code = codeForStatus(status);
    return sendError(reply, { code, message: FASTIFY_MESSAGES[err.code] ?? err.message });
  }
  req.log.error({ err }, "request failed");
  return sendError(reply, {
    code: "INTERNAL",
    message: `the gateway failed to handle this request; it is logged under request id ${req.id}`,
  });
};
