import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { publishAuditRecord } from "@sdn/bus";
import type { AuditRecord } from "@sdn/contracts";
import type { Logger } from "@sdn/runtime";
import { randomUUID } from "node:crypto";

/** The gateway's name in the trail: its records' service and origin, the only subjects it may write. */
export const GATEWAY = "api-gateway";

/** One change the gateway made itself (an account, a token, quotas, bus credentials). */
export type GatewayChange = Omit<AuditRecord, "commandId" | "at" | "service" | "origin">;

/**
 * Writes the audit records of the gateway's own changes, which are not bus commands, on
 * the same stream and in the same shape as the services' (docs/audit.md). Each gets a
 * fresh id: a caller's request id could be replayed to have a record dropped as duplicate.
 */
export class GatewayAuditWriter {
  private readonly js: JetStreamClient;

  constructor(
    nc: NatsConnection,
    private readonly logger: Logger,
  ) {
    this.js = jetstream(nc);
  }

  /**
   * Stores the record before the caller's answer leaves. The change is done by then and a
   * refused answer would not undo it, so a record that cannot be stored is logged whole
   * (it holds no secret) at error level rather than failing the request.
   */
  async write(change: GatewayChange): Promise<void> {
    const record: AuditRecord = {
      commandId: randomUUID(),
      at: new Date().toISOString(),
      service: GATEWAY,
      origin: GATEWAY,
      ...change,
    };
    try {
      await publishAuditRecord(this.js, record);
    } catch (err) {
      this.logger.error({ err, audit: record }, `could not write the audit record of ${record.command}`);
    }
  }
}
