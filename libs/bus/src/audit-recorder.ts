import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import type { MsgHdrs, NatsConnection } from "@nats-io/transport-node";
import {
  HEADERS,
  auditedResources,
  auditSubject,
  isAuditedCommand,
  originTokens,
  type Answer,
  type AuditRecord,
  type CommandDefinition,
  type CommandOrigin,
} from "@sdn/contracts";
import { randomUUID } from "node:crypto";
import type { CommandContext } from "./context.js";
import { retryTransient } from "./transient.js";

/** One consumed command, as the command server saw it. */
export interface ConsumedCommand {
  definition: CommandDefinition | undefined;
  origin: CommandOrigin;
  headers: MsgHdrs | undefined;
  ctx: CommandContext;
  body: Uint8Array;
  answer: Answer<unknown>;
}

const parsedBody = (data: Uint8Array): unknown => {
  try {
    return JSON.parse(new TextDecoder().decode(data)) as unknown;
  } catch {
    return undefined;
  }
};

/** The token id header counts only from the gateway: anyone else could name any token. */
const tokenIdOf = (origin: CommandOrigin, h: MsgHdrs | undefined): string | undefined => {
  if (origin.kind !== "principal" || origin.name !== "api-gateway") return undefined;
  const id = h?.get(HEADERS.tokenId);
  return id === undefined || id === "" ? undefined : id.slice(0, 128);
};

/** The record of one command (whitelisted identifiers only, see auditedResources). */
export const auditRecordOf = (service: string, c: ConsumedCommand, at = new Date()): AuditRecord => {
  const tokenId = tokenIdOf(c.origin, c.headers);
  return {
    commandId: c.ctx.commandId,
    at: at.toISOString(),
    service,
    command: c.definition?.name ?? "(unknown)",
    ...(c.ctx.accountId === undefined ? {} : { accountId: c.ctx.accountId }),
    role: c.ctx.role,
    origin: originTokens(c.origin),
    ...(tokenId === undefined ? {} : { tokenId }),
    resources: auditedResources(parsedBody(c.body), c.answer.ok ? c.answer.data : undefined),
    ok: c.answer.ok,
    ...(c.answer.ok ? {} : { errorCode: c.answer.error.code }),
  };
};

/** A change a service made itself, not by a bus command (the gateway's accounts, tokens, quotas). */
export type OwnChange = Omit<AuditRecord, "commandId" | "at" | "service" | "origin">;

/**
 * Writes the audit trail of one service: a record per mutating command it consumed,
 * published before the command's answer (a record that cannot be written leaves the
 * command unanswered, to be redelivered), deduplicated by command id.
 */
export class AuditRecorder {
  private readonly js: JetStreamClient;

  constructor(
    nc: NatsConnection,
    private readonly service: string,
  ) {
    this.js = jetstream(nc);
  }

  async record(c: ConsumedCommand): Promise<void> {
    if (c.definition === undefined || !isAuditedCommand(c.definition)) return;
    await this.publish(auditRecordOf(this.service, c));
  }

  /**
   * Records a change the service made itself, in the same shape, with the service as its
   * origin. Each gets a fresh id: a caller's request id could be replayed to have a record
   * dropped as a duplicate.
   */
  async recordOwnChange(change: OwnChange): Promise<void> {
    const at = new Date().toISOString();
    await this.publish({ commandId: randomUUID(), at, service: this.service, origin: this.service, ...change });
  }

  /** Stores one record, deduplicated by service and command id: a retried publish or a redelivered command writes it once. */
  private async publish(record: AuditRecord): Promise<void> {
    await retryTransient(() =>
      this.js.publish(auditSubject(record.service, record.command, record.accountId), JSON.stringify(record), {
        msgID: `audit-${record.service}-${record.commandId}`,
      }),
    );
  }
}
