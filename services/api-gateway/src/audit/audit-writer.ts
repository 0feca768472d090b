import type { NatsConnection } from "@nats-io/transport-node";
import { AuditRecorder, type OwnChange } from "@sdn/bus";
import type { Logger } from "@sdn/runtime";

/** The gateway's name in the trail: its records' service and origin, the only subjects it may write. */
const GATEWAY = "api-gateway";

/** One change the gateway made itself (an account, a token, quotas, bus credentials). */
export type GatewayChange = OwnChange;

/**
 * Writes the audit records of the gateway's own changes, which are not bus commands, on
 * the same stream and in the same shape as the services' (docs/audit.md).
 */
export class GatewayAuditWriter {
  private readonly recorder: AuditRecorder;

  constructor(
    nc: NatsConnection,
    private readonly logger: Logger,
  ) {
    this.recorder = new AuditRecorder(nc, GATEWAY);
  }

  /**
   * Stores the record before the caller's answer leaves. The change is done by then and a
   * refused answer would not undo it, so a record that cannot be stored is logged whole
   * (it holds no secret) at error level rather than failing the request.
   */
  async write(change: GatewayChange): Promise<void> {
    try {
      await this.recorder.recordOwnChange(change);
    } catch (err) {
      this.logger.error({ err, audit: change }, `could not write the audit record of ${change.command}`);
    }
  }
}
