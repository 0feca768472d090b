import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { eventSubject, type EventDataOf, type EventDefinition, type EventEnvelope } from "@sdn/contracts";
import { randomUUID } from "node:crypto";
import { injectTrace } from "./trace.js";
import { retryTransient } from "./transient.js";

export interface EventMeta {
  accountId?: string;
  commandId?: string;
  /** Deterministic id (e.g. derived from the command id) so a retried publish is dropped. */
  eventId?: string;
}

/** Publishes domain events to the event stream, wrapped in the event envelope. */
export class EventPublisher {
  private readonly js: JetStreamClient;

  constructor(nc: NatsConnection) {
    this.js = jetstream(nc);
  }

  async publish<E extends EventDefinition>(
    def: E,
    data: EventDataOf<E>,
    meta: EventMeta = {},
  ): Promise<EventEnvelope<EventDataOf<E>>> {
    const envelope: EventEnvelope<EventDataOf<E>> = {
      eventId: meta.eventId ?? randomUUID(),
      type: def.name,
      service: def.service,
      occurredAt: new Date().toISOString(),
      ...(meta.accountId === undefined ? {} : { accountId: meta.accountId }),
      ...(meta.commandId === undefined ? {} : { commandId: meta.commandId }),
      data,
    };
    // Deduplicated by the event id, so a publish cut by a leader election is sent again.
    await retryTransient(() =>
      this.js.publish(eventSubject(def.service, def.name, meta.accountId), JSON.stringify(envelope), {
        msgID: envelope.eventId,
        headers: injectTrace(),
      }),
    );
    return envelope;
  }
}
