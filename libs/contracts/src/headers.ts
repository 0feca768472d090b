/** Header names carried on every command, answer and event. */
export const HEADERS = {
  /** The command id; equal to `Nats-Msg-Id` on durable commands so a resend is dropped. */
  commandId: "Sdn-Command-Id",
  /** The tenant on whose behalf the command runs; services enforce ownership with it. */
  accountId: "Sdn-Account-Id",
  /** `admin` or `tenant`: what the gateway authenticated the caller as. */
  role: "Sdn-Role",
  /**
   * The id of the API token an HTTP call came with, for the audit trail; services trust it
   * only on commands whose origin is `api-gateway`.
   */
  tokenId: "Sdn-Token-Id",
  /** JetStream's deduplication header. */
  natsMsgId: "Nats-Msg-Id",
  /** W3C trace context. */
  traceparent: "traceparent",
  tracestate: "tracestate",
} as const;

export const ROLES = ["admin", "tenant"] as const;
export type Role = (typeof ROLES)[number];
